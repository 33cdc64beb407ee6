"""Compare before you switch: replay conversations under two variants and gate on the result.

Three conversations with what the retired Assistants API answered (the ``recorded``
baseline) are replayed on fresh threads under two variants — gpt-4o, and gpt-4.1-mini
with ``history=chain`` — then the report (JSON, HTML, JUnit) goes to ``compare-report/``
and the per-variant figures are printed. ``compat.compare.run`` is the same engine as
``assistants-compat compare``.

Offline (bundled Responses API emulator)::

    assistants-compat offline examples/compare_offline.py

Against the real API::

    OPENAI_API_KEY=sk-... python examples/compare_offline.py
"""

from compat import compare
from compat.compare import Case, Recorded, ToolCall, Turn

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}

# What users got from the retired API (in practice: an export, or your store's threads —
# see compare.cases_from_export / compare.cases_from_store).
cases = [
    Case(
        "greeting",
        [
            Turn(
                ["My name is Alex"],
                Recorded("You said: My name is Alex", prompt_tokens=30, completion_tokens=9),
            ),
            Turn(
                ["What is my name?"],
                Recorded("Your name is Alex.", prompt_tokens=52, completion_tokens=6),
            ),
        ],
        model="gpt-4o",
    ),
    Case(
        "weather",
        [
            Turn(
                ["What is the weather in Paris?"],
                Recorded(
                    "Here is what I found: 18 C, light rain",
                    [ToolCall("get_weather", '{"location": "Paris"}', "18 C, light rain")],
                    prompt_tokens=160,
                    completion_tokens=31,
                ),
            )
        ],
        model="gpt-4o",
        tools=[WEATHER],
    ),
    Case(
        "day-trip",
        [
            Turn(
                ["Suggest a day trip from Lisbon"],
                Recorded("Sintra: palaces and forests.", prompt_tokens=24, completion_tokens=12),
            )
        ],
        model="gpt-4o",
    ),
]

variants = [
    compare.Variant("recorded"),
    compare.parse_variant("gpt4o:model=gpt-4o"),
    compare.parse_variant("mini-chain:model=gpt-4.1-mini,history=chain"),
]

report = compare.run(cases, variants, fail_under=0.5, max_cost_increase=50)
paths = report.write("compare-report")

for name, s in report.summary.items():
    cost = "-" if s["cost"] is None else f"${s['cost']:.6f}"
    sim = s["similarity"]["mean"]
    print(
        f"{name}: {s['completed']}/{s['turns']} completed, {s['changed']} changed, "
        f"cost {cost}, similarity {'-' if sim is None else f'{sim:.2f}'}"
    )
for failure in report.failures:
    print(f"FAIL {failure['case']} x {failure['variant']}: {failure['message']}")
print(f"Report: {paths['html']}")
