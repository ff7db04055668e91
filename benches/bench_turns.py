"""Cost of located turns on long conversations: auto mode on a model's own template against generation mode on its
tagged training template, in the same run.

    python benches/bench_turns.py [--turns 1000] [--repeat 5]

Two conversations: plain user/assistant turns, and an agent trajectory (tools, tool calls and tool results); and
the trajectory with the tool results trained too (`roles_to_train=("assistant", "tool")`), which the generation tags
cannot express: located turns on the tagged template itself. Needs ../shared/tokenizers (qwen3, llama3_1) and TRL's
template collection (the `trl` package).
"""

import argparse
import functools
import pathlib
import time

import sftmask

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "tokenizers"


def chat(turns):
    messages = []
    for i in range(turns):
        messages += [{"role": "user", "content": f"Question {i} about things?"},
                     {"role": "assistant", "content": f"Answer {i} is here."}]
    return messages


def agent(messages):
    tools = [
        {"type": "function", "function": {"name": f"tool{i}", "description": "Does a thing. " * 10,
                                          "parameters": {"type": "object", "properties": {"x": {"type": "string"}}}}}
        for i in range(5)
    ]
    conversation = [{"role": "user", "content": "Start the task."}]
    for i in range((messages - 1) // 3):
        call = {"type": "function", "function": {"name": "tool1", "arguments": {"x": str(i)}}}
        conversation += [
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "content": f"result {i}"},
            {"role": "assistant", "content": f"Step {i} done."},
        ]
    return conversation, tools


def best_time(function, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import trl

    templates = pathlib.Path(trl.__file__).parent / "chat_templates"
    plain = chat(args.turns)
    trajectory, tools = agent(args.turns)
    print("| template | conversation | auto (own template) | generation (tagged) | ratio |\n|---|---|---|---|---|")
    for tokenizer, tagged in [("qwen3", "qwen3_training.jinja"), ("llama3_1", "llama3_training.jinja")]:
        own = sftmask.Masker.from_pretrained(SHARED / tokenizer)
        tags = sftmask.Masker.from_pretrained(SHARED / tokenizer, chat_template=str(templates / tagged))
        cases = [(f"{args.turns} turns", plain, {}),
                 (f"agent, {len(trajectory)} messages", trajectory, {"tools": tools})]
        trained_tools = {"tools": tools, "roles_to_train": ("assistant", "tool")}
        cases = [(name, own, messages, kwargs) for name, messages, kwargs in cases]
        cases.append((f"agent, {len(trajectory)} messages, tool results trained (tagged template)", tags,
                      trajectory, trained_tools))
        for name, masker, messages, kwargs in cases:
            auto = best_time(functools.partial(masker.encode, messages, **kwargs), args.repeat)
            kwargs = {"tools": kwargs["tools"]} if "tools" in kwargs else {}
            generation = best_time(functools.partial(tags.encode, messages, mode="generation", **kwargs), args.repeat)
            ratio = auto / generation
            print(f"| {tokenizer} | {name} | {auto * 1e3:.1f} ms | {generation * 1e3:.1f} ms | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
