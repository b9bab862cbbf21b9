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


# --- load: a real llama.cpp server (TRTBENCH_SERVER_URL; scripts/test-python.sh starts one)


@pytest.fixture(scope="module")
def server():
    url = os.environ.get("TRTBENCH_SERVER_URL")
    if not url:
        pytest.fail("TRTBENCH_SERVER_URL is not set (scripts/llama-server.sh start prints it)")
    return url


def test_load_returns_per_level_results(server, model, tmp_path):
    levels = []
    out = tmp_path / "load.json"
    r = trtbench.load(url=server, concurrency=[1, 2], num_prompts=4, isl=32, osl=8, warmup=1,
                      tokenizer=model, out=str(out), on_level=levels.append)
    assert r["path"] == str(out) and r["interrupted"] is False and r["max_rate_req_per_s"] is None
    points = r["results"]["points"]
    assert [p["key"] for p in levels] == [p["key"] for p in points]
    assert [p["parameters"]["concurrency"] for p in points] == [1, 2]
    for p in points:
        assert p["status"] == "ok" and p["kind"] == "load"
        assert p["parameters"]["num_prompts"] == 4 and p["parameters"]["isl"] == 32
        assert len(p["requests"]) == 4 and p["scalars"]["completed"] == 4
        assert all(q.get("error") is None and q["output_tokens"] == 8 for q in p["requests"])
        for metric in ("ttft_ms", "tpot_ms", "e2e_ms"):
            assert p["summary"][metric]["n"] == 4 and p["summary"][metric]["min"] > 0, metric
        assert p["summary"]["ttft_ms"]["p50"] < p["summary"]["e2e_ms"]["p50"]
        assert p["scalars"]["output_tok_per_s"] > 0 and p["scalars"]["requests_per_s"] > 0
    on_disk = json.loads(out.read_text())
    assert [p["key"] for p in on_disk["points"]] == [p["key"] for p in points]
    with pytest.raises(trtbench.ConfigError) as e:  # an existing file is never clobbered
        trtbench.load(url=server, concurrency=1, num_prompts=2, tokenizer=model, out=str(out))
    assert e.value.field == "out"


def test_load_from_a_toml_spec_with_the_servers_tokenizer(server):
    spec = f'url = "{server}"\nconcurrency = 1\nnum_prompts = 3\nisl = 24\nosl = 4\nwarmup = 0\n'
    r = trtbench.load(spec)
    assert r["path"] is None  # a temporary file, removed
    [p] = r["results"]["points"]
    assert p["status"] == "ok" and p["scalars"]["completed"] == 3
    assert "tokenize" in p["notes"]["tokenizer"]
    assert all(q["input_tokens"] == 24 for q in p["requests"])


def test_load_errors_name_the_field(server, model):
    cases = [
        (dict(url=server, concurrency=[1], num_promts=3), "num_promts"),
        (dict(url=server, concurrency=[0]), "concurrency"),
        (dict(url=server, concurrency=1, rate=2.0), "concurrency"),
        (dict(url=server, concurrency=1, isl="long"), "isl"),
        (dict(url=server, concurrency=1, timeout="soon"), "timeout"),
        (dict(concurrency=1), "url"),
        (dict(url="http://127.0.0.1:9/v1", concurrency=1), "url"),  # nothing listens there
        (dict(url=server, concurrency=1, tokenizer="/nonexistent/tok.json"), "tokenizer"),
    ]
    for fields, field in cases:
        with pytest.raises(trtbench.ConfigError) as e:
            trtbench.load(**fields)
        assert e.value.field == field, (fields, str(e.value))
        assert str(e.value).startswith(field + ": "), str(e.value)
    with pytest.raises(trtbench.ConfigError) as e:
        trtbench.load(f'url = "{server}"\nconcurrency = 1\nosl = "x"\n')
    assert e.value.field == "osl" and "load spec line 3" in str(e.value)
    with pytest.raises(trtbench.ConfigError) as e:
        trtbench.load(f'url = "{server}"\n', concurrency=1)
    assert e.value.field == "spec"


def test_load_stops_on_the_flag(server, model):
    stop = trtbench.Stop()
    stop.set()
    r = trtbench.load(url=server, concurrency=1, num_prompts=50, osl=64, tokenizer=model, stop=stop)
    assert r["interrupted"] is True
    assert len(r["results"]["points"][0].get("requests", [])) < 50


def test_load_releases_the_gil(server, model):
    """Another Python thread counts, about once a millisecond, while load runs: held
    through the call, the GIL would keep it asleep for the whole call (waking from
    `sleep` needs the GIL). It sleeps between counts so it leaves the server its CPU."""
    counter = [0]
    done = threading.Event()

    def count():
        while not done.is_set():
            counter[0] += 1
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    try:
        # The counter's free rate: the main thread sleeps (GIL released) meanwhile.
        c0, t0 = counter[0], time.monotonic()
        time.sleep(0.5)
        free_rate = (counter[0] - c0) / (time.monotonic() - t0)
        c0, t0 = counter[0], time.monotonic()
        r = trtbench.load(url=server, concurrency=1, num_prompts=2, isl=32, osl=16, warmup=0,
                          tokenizer=model)
        during, elapsed = counter[0] - c0, time.monotonic() - t0
    finally:
        done.set()
        t.join()
    assert r["results"]["points"][0]["status"] == "ok"
    assert elapsed > 0.5, elapsed
    # Held, the counter could not advance during the call (a count or two at its edges).
    assert during > 0.1 * free_rate * elapsed and during > 20, (during, free_rate, elapsed)
