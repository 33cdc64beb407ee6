"""``compat.compare`` from Python: scripted cases, tool outputs, failing variants, store
threads as cases, the judge, variant parsing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import compat
from compat import compare
from compat.cli import main
from compat.testing import ResponsesEmulator

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}

SCRIPT = """
cases:
  - name: lisbon-weather
    model: gpt-4o
    tools: [{type: function, function: {name: get_weather, parameters: {type: object,
             properties: {location: {type: string}}, required: [location]}}}]
    turns:
      - user: What is the weather in Lisbon?
        expected: "Here is what I found: 21 C"
        tool_calls: [{name: get_weather, arguments: {location: Lisbon}, output: "21 C"}]
  - name: remembers-name
    turns:
      - My name is Ada
      - What is my name?
"""


def _run(emu: ResponsesEmulator, cases: list[compare.Case], *specs: str, **kw: Any) -> Any:
    variants = [compare.parse_variant(s) for s in specs]
    return compare.run(
        cases, variants, base_url=emu.base_url, api_key="sk-test", max_retries=0, **kw
    )


def test_scripted_cases(emulator: ResponsesEmulator, tmp_path: Path) -> None:
    script = tmp_path / "cases.yaml"
    script.write_text(SCRIPT)
    cases = compare.load_scripted(script)
    assert [c.id for c in cases] == ["lisbon-weather", "remembers-name"]
    report = _run(emulator, cases, "recorded", "a:model=gpt-4o", "b:model=gpt-4.1-mini")
    weather = report.result("lisbon-weather", "a")
    assert report.cases[0]["baseline"] == "recorded"
    assert weather["status"] == "completed" and weather["similarity"] == 1.0
    assert weather["tool_calls"][0]["output"] == "21 C"  # from the script's expectations
    assert weather["tool_calls_changed"] is False
    # Without expectations the first variant is the baseline.
    assert report.cases[1]["baseline"] == "a"
    assert report.result("remembers-name", "b", 2)["answer"] == "Your name is Ada."
    assert report.result("remembers-name", "b", 2)["similarity"] == 1.0
    assert report.result("remembers-name", "recorded")["status"] == "not_recorded"


def test_tool_function_answers_what_the_recording_cannot(
    emulator: ResponsesEmulator, recordings: Any
) -> None:
    export, kinds = recordings
    ids = [t for t, k in kinds.items() if k == "needs_tool"]
    cases, problems = compare.cases_from_export([export], thread_ids=ids)
    assert problems == [] and len(cases) == 1
    seen: list[tuple[str, dict[str, Any]]] = []

    def tools(name: str, arguments: dict[str, Any]) -> str:
        seen.append((name, arguments))
        return "8 C and drizzle"

    report = _run(emulator, cases, "recorded", "a:model=gpt-4o", tools=tools)
    res = report.result(ids[0], "a")
    assert seen == [("get_weather", {"location": "Bergen"})]
    assert res["status"] == "completed"
    assert res["answer"] == "Here is what I found: 8 C and drizzle"
    assert res["tool_calls_changed"] is True  # "Bergen" vs the recorded "Bergen, Norway"


def test_a_failing_variant_never_stops_the_others(
    emulator: ResponsesEmulator, recordings: Any
) -> None:
    export, _ = recordings
    cases, _ = compare.cases_from_export([export])
    report = _run(
        emulator,
        cases[:4],
        "recorded",
        # temperature is refused for reasoning models: every turn of this variant fails
        "hot:model=gpt-5-mini,temperature=0.5",
        "ok:model=gpt-4o",
        "elsewhere:base_url=http://127.0.0.1:9/v1,api_key=sk-secret-elsewhere",
        concurrency=3,
    )
    hot = [t["results"]["hot"] for c in report.cases for t in c["turns"]]
    ok = [t["results"]["ok"] for c in report.cases for t in c["turns"]]
    gone = [t["results"]["elsewhere"] for c in report.cases for t in c["turns"]]
    assert {r["status"] for r in hot} == {"failed"}  # the run fails, as on the real API
    assert "temperature" in hot[0]["error"]
    assert {r["status"] for r in ok} == {"completed"}
    assert {r["status"] for r in gone} == {"error"} and "Connection" in gone[0]["error"]
    assert report.summary["hot"]["failed"] == len(hot) and report.ran_anything
    text = report.to_json()
    assert "sk-secret-elsewhere" not in text and '"api_key": "***"' in text


def _dump_thread(client: Any, thread_id: str) -> list[dict[str, Any]]:
    beta = client.beta.threads
    objs = [beta.retrieve(thread_id).model_dump()]
    objs += [m.model_dump() for m in beta.messages.list(thread_id, order="asc")]
    runs = list(beta.runs.list(thread_id, order="asc"))
    objs += [r.model_dump() for r in runs]
    for r in runs:
        objs += [s.model_dump() for s in beta.runs.steps.list(r.id, thread_id=thread_id)]
    return objs


def test_store_threads_and_their_export_give_the_same_cases(
    emulator: ResponsesEmulator, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/app.db"
    client = compat.OpenAI(base_url=emulator.base_url, api_key="sk", store=url, max_retries=0)
    asst = client.beta.assistants.create(model="gpt-4o", tools=[WEATHER])  # type: ignore[list-item]
    other = client.beta.assistants.create(model="gpt-4.1")
    threads = []
    for text, assistant in [("What is the weather in Rome?", asst), ("Hello there", other)]:
        t = client.beta.threads.create()
        client.beta.threads.messages.create(t.id, role="user", content=text)
        run = client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=assistant.id)
        if run.status == "requires_action":
            call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
            client.beta.threads.runs.submit_tool_outputs_and_poll(
                thread_id=t.id,
                run_id=run.id,
                tool_outputs=[{"tool_call_id": call.id, "output": "25 C"}],
            )
        threads.append(t.id)
    export = tmp_path / "export.json"
    export.write_text(
        json.dumps(
            [client.beta.assistants.retrieve(a.id).model_dump() for a in (asst, other)]
            + [o for t in threads for o in _dump_thread(client, t)]
        )
    )
    from_store = compare.cases_from_store(url)
    from_export, problems = compare.cases_from_export([export])
    assert problems == []
    assert from_store == from_export
    [weather, _] = from_store
    assert weather.tools and weather.model == "gpt-4o"
    assert weather.turns[0].recorded is not None
    assert [(c.name, c.output) for c in weather.turns[0].recorded.tool_calls] == [
        ("get_weather", "25 C")
    ]
    assert [c.id for c in compare.cases_from_store(url, assistant_id=other.id)] == [threads[1]]

    # The CLI reads the same store through --database and --threads.
    ids = tmp_path / "ids.txt"
    ids.write_text(f"# the weather thread\n{threads[0]}\n")
    out = tmp_path / "report"
    argv = ["compare", "--database", url, "--threads", str(ids), "--variant", "a:model=gpt-4o"]
    assert main([*argv, "--offline", "--no-progress", "--out", str(out)]) == 0
    data = json.loads((out / "report.json").read_text())
    assert [c["id"] for c in data["cases"]] == [threads[0]]
    assert data["cases"][0]["turns"][0]["results"]["a"]["similarity"] == 1.0


def test_judge_scores_answers(emulator: ResponsesEmulator) -> None:
    case = compare.Case(
        "judged", [compare.Turn(["Hello"], compare.Recorded("Hi! How can I help?"))]
    )
    report = _run(emulator, [case], "recorded", "a:model=gpt-4o", judge="gpt-4.1", rubric="Be fair")
    verdict = report.result("judged", "a")["judge"]
    assert verdict["score"] is not None and 0 <= verdict["score"] <= 1
    judged = [r for r in emulator.requests if r.get("model") == "gpt-4.1"]
    assert len(judged) == 1 and judged[0]["instructions"] == "Be fair"
    assert "Hi! How can I help?" in judged[0]["input"]
    assert report.summary["a"]["judge"]["mean"] == verdict["score"]


def test_variant_parsing() -> None:
    v = compare.parse_variant(
        'new:model=gpt-4.1,temperature=0,tools=[{"type":"code_interpreter"},{"type":"file_search"}],'
        "truncation_strategy=last_messages:4,history=chain"
    )
    assert v.params == {
        "model": "gpt-4.1",
        "temperature": 0.0,
        "tools": [{"type": "code_interpreter"}, {"type": "file_search"}],
        "truncation_strategy": {"type": "last_messages", "last_messages": 4},
    }
    assert v.history == "chain"
    assert compare.parse_variant("recorded").is_recorded
    for bad in ("x:history=sideways", "x:temperature=hot", "x:colour=red", "bad name:model=a"):
        with pytest.raises(compare.VariantError):
            compare.parse_variant(bad)


def test_similarity_and_diff() -> None:
    assert compare.similarity("Hello, World!", "hello world") == 1.0
    assert compare.similarity("", "") == 1.0
    assert 0 < compare.similarity("the cat sat", "the dog sat") < 1
    assert compare.word_diff("the cat sat", "the dog sat") == [
        ["=", "the"],
        ["-", "cat"],
        ["+", "dog"],
        ["=", "sat"],
    ]


def test_repeat_runs_each_case_again(emulator: ResponsesEmulator, capsys: Any) -> None:
    case = compare.Case("hello", [compare.Turn(["Hello"], compare.Recorded("You said: Hello"))])
    report = _run(emulator, [case], "a:model=gpt-4o", repeat=3, progress=True)
    assert [c["label"] for c in report.cases] == ["hello #1", "hello #2", "hello #3"]
    assert [c["repeat"] for c in report.cases] == [1, 2, 3]
    assert report.summary["a"]["turns"] == 3 and report.summary["a"]["completed"] == 3
    assert len({report.result(f"hello #{k}", "a")["run_id"] for k in (1, 2, 3)}) == 3
    assert "comparing" in capsys.readouterr().err  # the progress bar


def test_cli_tools_option_answers_calls(recordings: Any, tmp_path: Path) -> None:
    export, kinds = recordings
    [needs_tool] = [t for t, k in kinds.items() if k == "needs_tool"]
    ids = tmp_path / "ids.json"
    ids.write_text(json.dumps([needs_tool]))
    module = tmp_path / "weather_tools.py"
    module.write_text(
        "def answer(name, arguments):\n    return {'city': arguments['location'], 'temp': 9}\n"
    )
    out = tmp_path / "report"
    argv = ["compare", str(export), "--threads", str(ids), "--variant", "a:model=gpt-4o"]
    argv += ["--tools", f"{module}:answer", "--offline", "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    data = json.loads((out / "report.json").read_text())
    res = data["cases"][0]["turns"][0]["results"]["a"]
    assert res["status"] == "completed"
    assert res["tool_calls"][0]["output"] == '{"city": "Bergen", "temp": 9}'
    bad = [*argv[:-1], str(tmp_path / "r2")]
    bad[bad.index(f"{module}:answer")] = "no_such_module_xyz:answer"
    assert main(bad) == 2


def test_replay_sends_what_the_user_sent(emulator: ResponsesEmulator, tmp_path: Path) -> None:
    """A recorded user message with an image and an attachment, on an assistant with a
    vector store: the replayed turn sends the same image, file and vector store upstream."""
    url = f"sqlite:///{tmp_path}/app.db"
    client = compat.OpenAI(base_url=emulator.base_url, api_key="sk", store=url, max_retries=0)
    doc = client.files.create(
        file=("notes.txt", b"The launch is on Tuesday."), purpose="assistants"
    )
    img = client.files.create(file=("chart.png", b"\x89PNG fake"), purpose="vision")
    vs = client.vector_stores.create(name="docs", file_ids=[doc.id])
    asst = client.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [vs.id]}},
    )
    t = client.beta.threads.create()
    client.beta.threads.messages.create(
        t.id,
        role="user",
        content=[
            {"type": "text", "text": "What does this chart say about the launch?"},
            {"type": "image_file", "image_file": {"file_id": img.id, "detail": "low"}},
        ],
        attachments=[{"file_id": doc.id, "tools": [{"type": "file_search"}]}],
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=asst.id)
    assert run.status == "completed"

    [case] = compare.cases_from_store(url)
    assert case.tool_resources == {"file_search": {"vector_store_ids": [vs.id]}}
    assert case.turns[0].user == ["What does this chart say about the launch?"]
    emulator.requests.clear()
    report = _run(emulator, [case], "recorded", "a:model=gpt-4.1")
    assert report.result(case.id, "a")["status"] == "completed"
    [request] = [r for r in emulator.requests if r.get("model") == "gpt-4.1"]
    sent = json.dumps(request)
    assert img.id in sent and '"detail": "low"' in sent  # the image, as the user sent it
    [search] = [x for x in request["tools"] if x["type"] == "file_search"]
    assert vs.id in search["vector_store_ids"]  # the assistant's store ...
    assert len(search["vector_store_ids"]) == 2  # ... and the attachment's thread store
