"""The Python module on the real default model (TRTBENCH_MODEL: a GGUF file or an engine
directory; scripts/test-python.sh sets it). Every test runs the library for real."""

import json
import math
import os
import threading
import time

import pytest

import trtbench


@pytest.fixture(scope="module")
def model():
    path = os.environ.get("TRTBENCH_MODEL")
    if not path:
        pytest.fail("TRTBENCH_MODEL is not set (scripts/llama-server.sh model prints it)")
    return os.path.abspath(path)


@pytest.fixture(scope="module")
def engine(model):
    return trtbench.Engine.open(model, threads=2)


def spec(model, **extra):
    fields = {"engines": [model], "batch": [1], "isl": [16], "osl": [4], "warmup": 0,
              "runs": 2, "threads": 2, "sample_ms": 0}
    fields.update(extra)
    return "\n".join(f"{k} = {json.dumps(v)}" for k, v in fields.items()) + "\n"


def test_generate_returns_text_and_ordered_timings(engine):
    seen = []
    out = engine.generate("The robot should move to the", 10, on_token=lambda t, at: seen.append((t, at)))
    assert out["text"].strip()
    assert out["tokens"] == [t for t, _ in seen] and len(seen) == 10
    at = [a for _, a in seen]
    assert all(b > a for a, b in zip(at, at[1:]))
    assert 0 < out["prefill_ms"] <= out["ttft_ms"] < out["e2e_ms"]
    assert math.isclose(at[0], out["ttft_ms"]) and math.isclose(at[-1], out["e2e_ms"])
    assert len(out["step_ms"]) == 9 and all(s > 0 for s in out["step_ms"])
    assert math.isclose(sum(out["step_ms"]), out["e2e_ms"] - out["ttft_ms"], rel_tol=1e-6)
    assert out["clock"] == "host_monotonic" and out["device"] is None
    assert out["text"] == engine.detokenize(out["tokens"])


def test_generation_is_greedy_and_the_session_grows(engine):
    a = engine.generate("Pick up the red block and", 6)
    long_prompt = "Pick up the red block and " * 60  # > 256 tokens: a larger session
    b = engine.generate(long_prompt, 3)
    c = engine.generate("Pick up the red block and", 6)
    assert len(b["tokens"]) == 3
    assert a["tokens"] == c["tokens"]


def test_tokenize_round_trip(engine):
    text = "The capital of France is Paris."
    ids = engine.tokenize(text)
    assert ids and engine.detokenize(ids) == text
    with_bos = engine.tokenize(text, add_bos=True)
    assert with_bos[len(with_bos) - len(ids):] == ids and len(with_bos) - len(ids) in (0, 1)


def test_errors_name_the_field(engine, model):
    with pytest.raises(trtbench.TrtbenchError, match="/nonexistent/trtbench-engine"):
        trtbench.Engine.open("/nonexistent/trtbench-engine")
    with pytest.raises(trtbench.ConfigError) as e:
        engine.generate("x", 0)
    assert e.value.field == "max_tokens"
    with pytest.raises(trtbench.ConfigError) as e:
        trtbench.Engine.open(model, threads=0)
    assert e.value.field == "threads"
    with pytest.raises(trtbench.ConfigError) as e:
        trtbench.sweep(spec(model) + "bach = [2]\n")
    assert e.value.field == "bach" and "unknown field" in str(e.value)
    with pytest.raises(trtbench.ConfigError) as e:
        trtbench.sweep(spec(model, isl="8-x"))
    assert e.value.field == "isl"
    with pytest.raises(trtbench.ConfigError) as e:
        trtbench.sweep(spec(model), mode="bogus")
    assert e.value.field == "mode"
    assert issubclass(trtbench.ConfigError, trtbench.TrtbenchError)


def test_an_exception_in_on_token_is_raised(engine):
    calls = []

    def bad(token, at_ms):
        calls.append(token)
        raise ValueError("from the callback")

    with pytest.raises(ValueError, match="from the callback"):
        engine.generate("Hello", 4, on_token=bad)
    assert len(calls) == 1  # not called again once it raised


def test_sweep_returns_results_and_calls_back_per_point(model, tmp_path):
    points = []
    out = tmp_path / "sweep.json"
    r = trtbench.sweep(spec(model, osl=[4, 6]), out=str(out), on_point=points.append)
    assert r["path"] == str(out) and not r["interrupted"] and r["failed"] == 0
    res = r["results"]
    assert [p["key"] for p in points] == [p["key"] for p in res["points"]] and len(points) == 2
    for p in res["points"]:
        assert p["status"] == "ok"
        assert p["summary"]["ttft_ms"]["n"] == 2 and p["summary"]["ttft_ms"]["p50"] > 0
    assert json.loads(out.read_text())["points"][0]["key"] == res["points"][0]["key"]
    with pytest.raises(trtbench.TrtbenchError):
        trtbench.sweep(spec(model, osl=[4, 6]), out=str(out))  # "new" never clobbers
    again = []
    r = trtbench.sweep(spec(model, osl=[4, 6]), out=str(out), mode="resume", on_point=again.append)
    assert again == [] and len(r["results"]["points"]) == 2


def test_sweep_stops_on_the_flag(model):
    stop = trtbench.Stop()
    stop.set()
    points = []
    r = trtbench.sweep(spec(model), on_point=points.append, stop=stop)
    assert r["interrupted"] and points == [] and r["path"] is None


def test_sweep_releases_the_gil(model):
    done = threading.Event()
    result = {}

    def run():
        result["r"] = trtbench.sweep(spec(model, runs=3, osl=[8]))
        done.set()

    t = threading.Thread(target=run)
    t.start()
    spins = 0
    start = time.monotonic()
    while not done.is_set():
        spins += 1
    elapsed = time.monotonic() - start
    t.join()
    assert result["r"]["results"]["points"][0]["status"] == "ok"
    # Held through the sweep, the GIL would stop this loop for its whole length.
    assert elapsed > 0.2 and spins > 10_000, (elapsed, spins)
