/** Plain words for filler prose; common English so each is about one token. */
export const FILLER_WORDS: readonly string[] = (
  'the a an this that these those it they we you our their its some many few each every other ' +
  'model batch request answer result system process value signal pattern detail record summary ' +
  'review customer product service order delivery price quality team report number example ' +
  'question reason method idea point part piece step stage level kind type group set list ' +
  'data text word line page note time day week month year moment hour place city road house ' +
  'water light sound color shape field river market garden window table paper letter story ' +
  'is are was were be seems looks feels stays keeps makes takes gives shows finds brings holds ' +
  'runs moves turns opens closes starts ends grows builds reads writes sends checks counts ' +
  'clear simple quiet early late small large long short new old open steady careful useful ' +
  'plain broad narrow bright calm warm cool fresh fair close ready whole common usual certain ' +
  'and or but so then also still just only even often again soon later here there now ' +
  'with from into over under about after before between through during without within along'
).split(' ');

/** Words that push a text towards positive or negative sentiment. */
export const POSITIVE_WORDS: ReadonlySet<string> = new Set(
  (
    'good great excellent amazing awesome love loved loves lovely wonderful best fantastic perfect ' +
    'happy pleased recommend recommended nice delicious friendly helpful fast easy beautiful enjoy ' +
    'enjoyed superb outstanding brilliant glad satisfied impressive reliable comfortable fun like liked'
  ).split(' '),
);

export const NEGATIVE_WORDS: ReadonlySet<string> = new Set(
  (
    'bad terrible awful horrible hate hated hates worst poor disappointing disappointed broken slow ' +
    'rude dirty boring useless waste refund avoid cold overpriced expensive angry annoying ' +
    'unhappy mediocre defective late noisy ugly fail failed fails problem problems complaint worse'
  ).split(' '),
);

/** A negator flips the next sentiment word: "not good" is negative. */
export const NEGATORS: ReadonlySet<string> = new Set(['not', 'no', 'never', 'hardly', 'nothing']);

export type SentimentLabel = 'positive' | 'negative' | 'neutral';
export const SENTIMENT_LABELS: readonly SentimentLabel[] = ['positive', 'negative', 'neutral'];
