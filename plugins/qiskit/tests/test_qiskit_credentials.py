"""``qiskit.ibm``: availability from Qiskit's own credentials, and the token never leaks.

Nothing here reaches the network: IBM Runtime's service is replaced by a stand-in that
hands out a fake device, which SamplerV2 then runs locally on Aer.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import qiskit_ibm_runtime
from qiskit_ibm_runtime.fake_provider import FakeManilaV2
from qtcore_qiskit.backend import IBMRuntimeBackend
from qtcore_qiskit.credentials import TOKEN_ENV, ibm_credentials_problem, known_tokens

import qtcore
from qtcore.cli import main as qtcore_cli

TOKEN = "tok-3f9a1c7e5b2d4e6f8a0b1c2d3e4f5a6b"  # a made-up token to hunt for in every output


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty home and no QISKIT_IBM_* variables."""
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("QISKIT_IBM_TOKEN", "QISKIT_IBM_CHANNEL", "QISKIT_IBM_INSTANCE", "QISKIT_IBM_URL"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def save_account(home: Path, account: dict[str, Any]) -> Path:
    path = home / ".qiskit" / "qiskit-ibm.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"default-ibm-quantum-platform": account}))
    return path


def entry() -> qtcore.Registered[qtcore.BackendInfo]:
    return next(e for e in qtcore.backends() if e.name == "qiskit.ibm")


def test_without_credentials_it_is_listed_unavailable_with_the_reason(no_credentials: Path) -> None:
    reason = entry().unavailable_reason()
    assert reason is not None
    assert TOKEN_ENV in reason and "save_account" in reason and "does not exist" in reason
    with pytest.raises(qtcore.BackendUnavailable, match="no IBM Quantum credentials"):
        qtcore.get_backend("qiskit.ibm:ibm_brisbane")


def test_a_saved_account_makes_it_available(no_credentials: Path) -> None:
    save_account(no_credentials, {"channel": "ibm_quantum_platform", "token": TOKEN})
    assert entry().unavailable_reason() is None
    assert known_tokens() == [TOKEN]


def test_the_environment_makes_it_available(
    no_credentials: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    assert entry().unavailable_reason() is None


@pytest.mark.parametrize(
    "content",
    [
        "{not json " + TOKEN,
        json.dumps({"default-ibm-quantum-platform": {"channel": "ibm_cloud", "token": ""}}),
        json.dumps([TOKEN]),
    ],
    ids=["malformed", "empty-token", "not-an-object"],
)
def test_unusable_config_files_are_reasons_that_do_not_quote_them(
    no_credentials: Path, content: str
) -> None:
    path = no_credentials / ".qiskit" / "qiskit-ibm.json"
    path.parent.mkdir(parents=True)
    path.write_text(content)
    reason = ibm_credentials_problem()
    assert reason is not None and str(path) in reason
    assert TOKEN not in reason


class _FailingService:
    def __init__(self, **options: Any) -> None:
        logging.getLogger("qiskit_ibm_runtime").error("login failed for token %s", "<hidden>")
        raise RuntimeError(f"401 Unauthorized: token {TOKEN} is not valid")


class _LocalService:
    """Stands in for QiskitRuntimeService: no network, the fake Manila device."""

    seen: ClassVar[dict[str, Any]] = {}

    def __init__(self, **options: Any) -> None:
        _LocalService.seen = options

    def backend(self, name: str) -> FakeManilaV2:
        return FakeManilaV2()


def test_service_errors_are_scrubbed_of_the_token(
    no_credentials: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setattr(qiskit_ibm_runtime, "QiskitRuntimeService", _FailingService)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(qtcore.BackendUnavailable) as info:
        qtcore.get_backend("qiskit.ibm:ibm_brisbane")
    err = info.value
    assert "401 Unauthorized" in str(err) and "***" in str(err)
    assert TOKEN not in str(err)
    # The original exception (which quotes the token) is not chained into the traceback.
    assert err.__cause__ is None and err.__suppress_context__
    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err + caplog.text


def test_a_working_service_samples_and_keeps_no_token(
    no_credentials: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    save_account(no_credentials, {"channel": "ibm_quantum_platform", "token": TOKEN})
    monkeypatch.setattr(qiskit_ibm_runtime, "QiskitRuntimeService", _LocalService)
    caplog.set_level(logging.DEBUG)
    backend = qtcore.get_backend("qiskit.ibm:fake_manila", instance="my-instance")
    assert isinstance(backend, IBMRuntimeBackend)
    assert _LocalService.seen == {"instance": "my-instance"}  # Qiskit reads the token itself
    caps = backend.capabilities
    assert (caps.max_qubits, caps.noise, caps.seeded) == (5, False, False)
    P = np.zeros((3, 4))
    P[[0, 1, 2], [0, 1, 2]] = 1.0  # one-hot rows |00⟩, |01⟩, |10⟩
    counts = backend.sample_distributions(P, shots=1000)
    assert counts.argmax(axis=1).tolist() == [0, 1, 2]  # bit order through SamplerV2
    run_counts = backend.run([qtcore.Circuit(2, (qtcore.Gate("x", (0,)),))], shots=500)
    assert run_counts.argmax(axis=1).tolist() == [2]
    text = repr(backend) + repr(vars(backend)) + caplog.text
    out = capsys.readouterr()
    assert TOKEN not in text + out.out + out.err


def test_the_cli_listing_never_shows_the_token(
    no_credentials: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    assert qtcore_cli(["backends", "--json"]) == 0
    out = capsys.readouterr()
    rows = {row["name"]: row for row in json.loads(out.out)}
    assert rows["qiskit.ibm:<variant>"]["status"] == "available"
    assert TOKEN not in out.out + out.err
