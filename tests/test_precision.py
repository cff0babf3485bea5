"""The default precision follows the machine: bf16 only where it is native."""

from lprzoo.precision import choose_precision

AVX2 = {"avx", "avx2", "fma", "f16c"}
ZEN4 = AVX2 | {"avx512f", "avx512_bf16", "avx512_vnni"}
SAPPHIRE = AVX2 | {"avx512f", "amx_bf16", "amx_tile"}


def test_avx2_cpu_trains_in_fp32():
    precision, why = choose_precision("cpu", flags=AVX2, cuda_available=False)
    assert precision == "32-true" and "emulated" in why


def test_cpu_with_native_bf16_trains_in_bf16():
    assert choose_precision("cpu", flags=ZEN4, cuda_available=False)[0] == "bf16-mixed"
    precision, why = choose_precision("auto", flags=SAPPHIRE, cuda_available=False)
    assert precision == "bf16-mixed" and "amx_bf16" in why


def test_an_onednn_isa_cap_below_bf16_trains_in_fp32(monkeypatch):
    # ONEDNN_MAX_CPU_ISA=AVX2 makes an AMX CPU run AVX2 kernels, bf16 emulated: the chooser must follow the cap.
    precision, why = choose_precision("cpu", flags=SAPPHIRE, cuda_available=False, onednn_isa="avx2")
    assert precision == "32-true" and "ONEDNN_MAX_CPU_ISA=AVX2" in why
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_VNNI")
    assert choose_precision("cpu", flags=ZEN4, cuda_available=False)[0] == "32-true"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")
    assert choose_precision("cpu", flags=SAPPHIRE, cuda_available=False)[0] == "bf16-mixed"
    # a cap cannot add what the CPU lacks
    assert choose_precision("cpu", flags=AVX2, cuda_available=False, onednn_isa="ALL")[0] == "32-true"


def test_gpu_decides_by_its_own_bf16_support_not_the_cpu():
    assert choose_precision("auto", flags=AVX2, cuda_available=True, cuda_bf16=True)[0] == "bf16-mixed"
    assert choose_precision("gpu", flags=ZEN4, cuda_available=True, cuda_bf16=False)[0] == "32-true"
    assert choose_precision("cpu", flags=AVX2, cuda_available=True, cuda_bf16=True)[0] == "32-true"


def test_cli_prints_its_choice_and_an_explicit_precision_wins(tmp_path, plate_folder, caplog, monkeypatch):
    from lprzoo.cli import trainer as cli
    from tests.test_cli import tiny_args

    caplog.set_level("INFO", logger="lprzoo")
    monkeypatch.setattr(cli, "choose_precision", lambda accelerator: ("32-true", "a test says so"))
    run = cli.run_cli([*tiny_args(tmp_path, plate_folder, "--trainer.max_steps", "1")], run=False)
    assert run.trainer.precision == "32-true" and "precision: 32-true, because a test says so" in caplog.text
    args = tiny_args(tmp_path, plate_folder, "--trainer.max_steps", "1", "--trainer.precision", "bf16-mixed")
    assert cli.run_cli(args, run=False).trainer.precision == "bf16-mixed"


def test_cpu_summary_names_a_kernel_cap(monkeypatch):
    from lprzoo.precision import cpu_summary

    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    assert "capped" not in cpu_summary()
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert cpu_summary().endswith("kernels capped by ONEDNN_MAX_CPU_ISA=AVX2")
