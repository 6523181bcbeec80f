/*
 * roberta-math in the browser: RoBERTa's byte-level BPE tokenizer, mirroring
 * roberta_math.tokenization.byte_level_bpe (bytes_to_unicode, bpe) and the steps the
 * model's own tokenizer (Hugging Face `tokenizers`) takes around it:
 *
 *   1. special tokens typed in the text (`<s>`, `</s>`, `<mask>`, ...) are cut out first and
 *      keep their own ids (leftmost-longest match; `<mask>` also swallows the whitespace on
 *      its left, its `lstrip` flag);
 *   2. each remaining piece is pre-tokenized with GPT-2's regular expression
 *      's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *      where \s is Unicode's White_Space (as in the Rust library: U+0085 is space,
 *      U+FEFF is not, unlike JavaScript's own \s);
 *   3. each pre-token's UTF-8 bytes become printable characters (bytes_to_unicode, so the
 *      space is "Ġ"), and BPE merges adjacent pairs, lowest merge rank first;
 *   4. `<s>` ... `</s>` go around the ids; a text longer than the model's positions keeps
 *      its first max_tokens - 2 tokens between them (as `roberta-math predict` does).
 *
 * tests/js/tokenizer.test.mjs checks the ids against the Python tokenizer on every corpus
 * sentence and on adversarial strings.
 */
(function (root, factory) {
  "use strict";
  var api = factory();
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.RobertaTokenizer = api;
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  // Unicode White_Space, the set Rust's char::is_whitespace and the library's regex use.
  var WS = "\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
  var IS_WS = new RegExp("^[" + WS + "]$", "u");

  /** "\\u{41}-\\u{5a}..." for a regex class, from inclusive [first, last] code point ranges. */
  function classBody(ranges) {
    var out = "";
    for (var i = 0; i < ranges.length; i++) {
      out += "\\u{" + ranges[i][0].toString(16) + "}";
      if (ranges[i][1] !== ranges[i][0]) out += "-\\u{" + ranges[i][1].toString(16) + "}";
    }
    return out;
  }

  /**
   * GPT-2's pre-tokenization pattern. L and N are the bodies of the letter and number
   * classes: the tokenizer library's own (exported as ranges, since a browser's Unicode
   * version may be newer), or \\p{L} and \\p{N} when none are given.
   */
  function pretokenizePattern(L, N) {
    return new RegExp(
      "'s|'t|'re|'ve|'m|'ll|'d| ?[" + L + "]+| ?[" + N + "]+| ?[^" + WS + L + N + "]+|[" + WS + "]+(?![^" + WS + "])|[" + WS + "]+",
      "gu"
    );
  }

  var DEFAULT_PATTERN = pretokenizePattern("\\p{L}", "\\p{N}");

  /**
   * Each of the 256 byte values as a printable character: bytes that print as themselves
   * ('!'..'~', '¡'..'¬', '®'..'ÿ') keep their character, the others move in byte order to
   * U+0100 on (so the space, byte 32, becomes 'Ġ', U+0120).
   */
  function bytesToUnicode() {
    var table = new Array(256);
    var printable = function (b) {
      return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    };
    var shifted = 0;
    for (var b = 0; b < 256; b++) {
      if (printable(b)) table[b] = String.fromCharCode(b);
      else table[b] = String.fromCharCode(256 + shifted++);
    }
    return table;
  }

  var BYTE_CHARS = bytesToUnicode();
  var UTF8 = new TextEncoder();

  /** The text's UTF-8 bytes, one printable character per byte. */
  function toByteSymbols(text) {
    var bytes = UTF8.encode(text);
    var out = "";
    for (var i = 0; i < bytes.length; i++) out += BYTE_CHARS[bytes[i]];
    return out;
  }

  /** GPT-2's pre-tokenization: the pieces of the text, each with its leading space. */
  function preTokenize(text, pattern) {
    return text.match(pattern || DEFAULT_PATTERN) || [];
  }

  /**
   * BPE on one pre-token (already in byte symbols): repeatedly join the adjacent pair with
   * the lowest rank, everywhere it occurs left to right; stop when no pair has a rank.
   * ranks: Map from "a b" to rank.
   */
  function bpe(word, ranks) {
    var symbols = Array.from(word);
    while (symbols.length > 1) {
      var best = Infinity, bestPair = null;
      for (var i = 0; i + 1 < symbols.length; i++) {
        var r = ranks.get(symbols[i] + " " + symbols[i + 1]);
        if (r !== undefined && r < best) {
          best = r;
          bestPair = [symbols[i], symbols[i + 1]];
        }
      }
      if (bestPair === null) break;
      var merged = [];
      for (i = 0; i < symbols.length; ) {
        if (i + 1 < symbols.length && symbols[i] === bestPair[0] && symbols[i + 1] === bestPair[1]) {
          merged.push(symbols[i] + symbols[i + 1]);
          i += 2;
        } else {
          merged.push(symbols[i]);
          i += 1;
        }
      }
      symbols = merged;
    }
    return symbols;
  }

  /**
   * Cut the text at special tokens typed in it (leftmost-longest); returns
   * [{text} | {id, content, start, end}] in order. A token with lstrip also takes the
   * whitespace on its left (not past the previous match).
   */
  function splitOnAddedTokens(text, addedTokens) {
    var parts = [];
    var offset = 0; // end of the previous match
    var i = 0;
    while (i < text.length) {
      var found = null;
      for (var k = 0; k < addedTokens.length; k++) {
        var tok = addedTokens[k];
        if (text.startsWith(tok.content, i) && (found === null || tok.content.length > found.content.length)) found = tok;
      }
      if (found === null) {
        i += 1;
        continue;
      }
      var start = i, stop = i + found.content.length;
      if (found.lstrip) {
        while (start > offset) {
          var prev = text.codePointAt(start - 1) >= 0xdc00 && start - 2 >= offset ? text.slice(start - 2, start) : text[start - 1];
          if (!IS_WS.test(prev)) break;
          start -= prev.length;
        }
      }
      if (found.rstrip) {
        while (stop < text.length && IS_WS.test(text[stop])) stop += 1;
      }
      if (offset < start) parts.push({ text: text.slice(offset, start) });
      parts.push({ id: found.id, content: found.content });
      offset = stop;
      i = stop;
    }
    if (offset < text.length) parts.push({ text: text.slice(offset) });
    return parts;
  }

  /**
   * A tokenizer from the exported JSON (live-tokenizer.json):
   * {vocab: {token: id}, merges: [[a, b], ...], added_tokens: [{id, content, lstrip, rstrip}],
   *  add_prefix_space, bos_token, eos_token}.
   */
  function Tokenizer(spec) {
    this.vocab = new Map(Object.entries(spec.vocab));
    this.idToToken = [];
    var self = this;
    this.vocab.forEach(function (id, token) { self.idToToken[id] = token; });
    (spec.added_tokens || []).forEach(function (t) { self.idToToken[t.id] = t.content; });
    this.ranks = new Map();
    for (var r = 0; r < spec.merges.length; r++) this.ranks.set(spec.merges[r][0] + " " + spec.merges[r][1], r);
    this.addedTokens = spec.added_tokens || [];
    this.addPrefixSpace = !!spec.add_prefix_space;
    this.letterClass = spec.letter_ranges ? classBody(spec.letter_ranges) : "\\p{L}";
    this.numberClass = spec.number_ranges ? classBody(spec.number_ranges) : "\\p{N}";
    this.pattern = pretokenizePattern(this.letterClass, this.numberClass);
    this.bos = this.vocab.has(spec.bos_token) ? this.vocab.get(spec.bos_token) : 0;
    this.eos = this.vocab.has(spec.eos_token) ? this.vocab.get(spec.eos_token) : 2;
    this.cache = new Map();
  }

  /** Token ids of the text, without <s> and </s>. */
  Tokenizer.prototype.encodeOrdinary = function (text) {
    var ids = [];
    var parts = splitOnAddedTokens(text, this.addedTokens);
    for (var p = 0; p < parts.length; p++) {
      if (parts[p].id !== undefined) {
        ids.push(parts[p].id);
        continue;
      }
      var piece = parts[p].text;
      if (this.addPrefixSpace && piece[0] !== " ") piece = " " + piece;
      var words = preTokenize(piece, this.pattern);
      for (var w = 0; w < words.length; w++) {
        var symbols = toByteSymbols(words[w]);
        var cached = this.cache.get(symbols);
        if (cached === undefined) {
          cached = [];
          var tokens = bpe(symbols, this.ranks);
          for (var t = 0; t < tokens.length; t++) {
            var id = this.vocab.get(tokens[t]);
            if (id !== undefined) cached.push(id); // no <unk> in byte-level BPE: every byte is in the vocabulary
          }
          if (this.cache.size < 50000) this.cache.set(symbols, cached);
        }
        for (t = 0; t < cached.length; t++) ids.push(cached[t]);
      }
    }
    return ids;
  };

  /**
   * <s> ids </s>, cut like `roberta-math predict` to at most maxTokens ids (its first
   * maxTokens - 2 text tokens). Returns {ids, tokens, truncated, fullLength}.
   */
  Tokenizer.prototype.encode = function (text, maxTokens) {
    var body = this.encodeOrdinary(text);
    var fullLength = body.length + 2;
    var truncated = maxTokens !== undefined && fullLength > maxTokens;
    if (truncated) body = body.slice(0, Math.max(0, maxTokens - 2));
    var ids = [this.bos].concat(body, [this.eos]);
    var self = this;
    return { ids: ids, tokens: ids.map(function (i) { return self.idToToken[i]; }), truncated: truncated, fullLength: fullLength };
  };

  /**
   * A token as a reader reads it: byte symbols back to text ("Ġgood" -> " good"). A token
   * holding only part of a multi-byte character (an emoji split over tokens) cannot be
   * decoded alone; its bytes show as <0xNN>, as readable_token in
   * roberta_math/interpret/explain.py does, instead of U+FFFD.
   */
  var UNICODE_TO_BYTE = new Map();
  BYTE_CHARS.forEach(function (c, b) { UNICODE_TO_BYTE.set(c, b); });
  var UTF8_DECODE = new TextDecoder("utf-8", { fatal: true });
  function displayToken(token) {
    var bytes = [];
    var chars = Array.from(token);
    for (var i = 0; i < chars.length; i++) {
      var b = UNICODE_TO_BYTE.get(chars[i]);
      if (b === undefined) return token; // a special token such as <s>
      bytes.push(b);
    }
    try {
      return UTF8_DECODE.decode(new Uint8Array(bytes));
    } catch (e) {
      return bytes.map(function (x) { return "<0x" + (x < 16 ? "0" : "") + x.toString(16).toUpperCase() + ">"; }).join("");
    }
  }

  /**
   * The model's text preprocessing, mirroring roberta_math.model.preprocessing: "none", or
   * "twitter-user-http" (split at single spaces; a word that starts with "@" and has more
   * characters becomes "@user", a word that starts with "http" becomes "http").
   */
  var PREPROCESSORS = {
    none: function (text) { return text; },
    "twitter-user-http": function (text) {
      return text.split(" ").map(function (word) {
        if (word.startsWith("@") && word.length > 1) return "@user";
        if (word.startsWith("http")) return "http";
        return word;
      }).join(" ");
    },
  };
  function preprocess(text, name) {
    var f = PREPROCESSORS[name || "none"];
    if (!f) throw new Error("unknown preprocessing " + name + ": this page knows " + Object.keys(PREPROCESSORS).join(", "));
    return f(text);
  }

  return {
    preprocess: preprocess,
    WHITESPACE_CLASS: WS,
    pretokenizePattern: pretokenizePattern,
    bytesToUnicode: bytesToUnicode,
    toByteSymbols: toByteSymbols,
    preTokenize: preTokenize,
    bpe: bpe,
    splitOnAddedTokens: splitOnAddedTokens,
    displayToken: displayToken,
    Tokenizer: Tokenizer,
  };
});
