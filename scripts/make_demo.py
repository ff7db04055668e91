"""Generates the demo assets sftmask ships in `python/sftmask/demo/`: a small byte-level BPE tokenizer trained
on a small synthetic chat dataset, with a ChatML chat template that marks the assistant's output with
`{% generation %}` tags. Deterministic: running it again rewrites the same files.

    python scripts/make_demo.py [OUTPUT_DIR]
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

CHATML_TEMPLATE = """{%- for message in messages %}
    {%- if message.role == 'assistant' %}
        {{- '<|im_start|>assistant\\n' }}
        {%- generation %}
        {%- if message.content %}{{- message.content }}{%- endif %}
        {%- for call in message.tool_calls or [] %}
            {{- '<tool_call>\\n' + call.function | tojson + '\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
        {%- endgeneration %}
    {%- else %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

TOPICS = ["crepes", "tides", "prime numbers", "photosynthesis", "the Rust borrow checker", "sourdough", "comets"]
QUESTIONS = ["Explain {t} in one sentence.", "What should a beginner know about {t}?", "Give me a fun fact about {t}."]
ANSWERS = [
    "Here is the short version: {t} is easier than it looks once you see the pattern.",
    "A beginner should start small: learn one idea about {t} at a time and practise it.",
    "Fun fact: people have studied {t} for centuries, and there is still more to learn.",
]
SYSTEM_PROMPTS = ["You are a helpful assistant.", "You are a concise tutor. Answer briefly."]
CHINESE = [
    ("用一句话解释潮汐。", "潮汐是月球和太阳的引力使海水周期性涨落的现象。"),
    ("你好！", "你好！有什么可以帮你的吗？"),
]


def make_conversations(count: int = 48, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    conversations = []
    for i in range(count):
        messages = []
        if i % 3 == 0:
            messages.append({"role": "system", "content": rng.choice(SYSTEM_PROMPTS)})
        if i % 8 == 7:
            question, answer = CHINESE[i % len(CHINESE)]
            messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        elif i % 8 == 5:
            city = rng.choice(["Paris", "Lima", "Osaka"])
            call = {"type": "function", "function": {"name": "get_weather", "arguments": {"city": city}}}
            messages += [
                {"role": "user", "content": f"What is the weather in {city}?"},
                {"role": "assistant", "content": "", "tool_calls": [call]},
                {"role": "tool", "content": json.dumps({"city": city, "celsius": rng.randint(5, 30)})},
                {"role": "assistant", "content": f"It is mild in {city} today."},
            ]
        else:
            for _ in range(1 + i % 3):
                topic = rng.choice(TOPICS)
                messages.append({"role": "user", "content": rng.choice(QUESTIONS).format(t=topic)})
                messages.append({"role": "assistant", "content": rng.choice(ANSWERS).format(t=topic)})
        conversations.append({"messages": messages})
    return conversations


def train_tokenizer(texts: list[str]) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=700,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def main(output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    conversations = make_conversations()
    texts = [m["content"] for c in conversations for m in c["messages"] if m.get("content")]
    tokenizer = train_tokenizer(texts * 4)
    tokenizer.save(str(output / "tokenizer.json"), pretty=False)
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "model_max_length": 4096,
        "chat_template": CHATML_TEMPLATE,
    }
    config_text = json.dumps(config, indent=2, ensure_ascii=False) + "\n"
    (output / "tokenizer_config.json").write_text(config_text, encoding="utf-8")
    with (output / "conversations.jsonl").open("w", encoding="utf-8") as f:
        for conversation in conversations:
            f.write(json.dumps(conversation, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    default = Path(__file__).resolve().parent.parent / "python" / "sftmask" / "demo"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
