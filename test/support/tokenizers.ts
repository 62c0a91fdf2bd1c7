/** Small, hand-written tokenizer.json files of the common kinds, for tests (no real vocabularies offline). */

/** An entry of tokenizer.json's added_tokens for a special token. */
export const special = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

/** A BERT-style tokenizer.json (lower-casing, accent stripping, WordPiece, [CLS]/[SEP] template), small vocabulary. */
export function bertTokenizerJson(extraWords: string[] = [], options: { mask?: boolean } = {}): string {
  const words = [
    '[PAD]',
    '[UNK]',
    '[CLS]',
    '[SEP]',
    'hello',
    ',',
    'the',
    'cafe',
    'un',
    '##believ',
    '##able',
    '!',
    ...extraWords,
    // After the others, so that their ids stay as they were.
    ...(options.mask ? ['[MASK]'] : []),
  ];
  const vocab = Object.fromEntries(words.map((w, i) => [w, i]));
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      special(0, '[PAD]'),
      special(1, '[UNK]'),
      special(2, '[CLS]'),
      special(3, '[SEP]'),
      ...(options.mask ? [special(words.length - 1, '[MASK]')] : []),
    ],
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  });
}

/**
 * A Unigram (SentencePiece-style) tokenizer.json with the given normalizer and pre-tokenizer, whose
 * vocabulary holds every lower-case ASCII letter, digit and punctuation mark, alone and after '▁',
 * and a few words: every normalised text of those characters gets tokens without <unk>.
 */
export function unigramTokenizerJson(normalizer: object | null, preTokenizer: object | null): string {
  const chars = [...'abcdefghijklmnopqrstuvwxyz0123456789!"#$%&\'()*+,-./:;<=>?@[]^_`{|}~'];
  const pieces: [string, number][] = [
    ['<pad>', 0],
    ['</s>', 0],
    ['<unk>', 0],
    ['▁', -3],
    ...['▁hello', '▁world', '▁fix', 'ing'].map((w): [string, number] => [w, -1]),
    ...chars.flatMap((c): [string, number][] => [
      [c, -5],
      [`▁${c}`, -5],
    ]),
  ];
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<pad>'), special(1, '</s>'), special(2, '<unk>')],
    normalizer,
    pre_tokenizer: preTokenizer,
    post_processor: null,
    decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: 2, vocab: pieces, byte_fallback: false },
  });
}
