"""Emergence or burst: is a flag carried by many groups over several periods, or by one call, one venue,
one organisation, one period or one text template?

The commonest false alarms are bursts: a single funding call or call topic, a conference shared task,
one organisation's press campaign, a one-off event. For a flag's recent documents (those of the
detection's recent window) `BurstRules` measures

- *group concentration*: the largest share of them under one call / topic code, venue or source,
  against that group's share of all recent documents (lift), and the same for organisations;
- *period concentration*: the part of its rate (its share of each recent period's documents) in the period where
  it is highest, when that is not the latest (a one-period spike that faded; a flag whose documents crowd the
  latest period is rising, as any theme that grows fast does in a window of two or three periods, and the next
  cutoffs will tell). Rates, so that a corpus whose volume crowds one period (conference months) does not make
  every flag a spike;
- *day concentration*: the most of them dated within a few days (`batch_days`) when that is a large share, a lift
  over all documents' share in those days (as for a group) and more than random sets of as many recent documents
  reach (`batch`): one batch (a group uploading its back
  catalogue to arXiv on one day, one company's patents granted in one week), which the period rule cannot see
  while the batch sits in the latest period. The lift and the random sets keep the corpus's own clumping (papers
  dated by their conference month: a theme rising fast crowds the latest conference more than the null's flat rate
  would, but not 3 times as much as all papers do, patents granted on Tuesdays);
- *template concentration*: the share of documents whose wording nearly repeats another's
  (Jaccard similarity of their 5-word shingles at least `TEMPLATE_JACCARD`: near-identical call text, or one
  author's series, "A short review and primer on ... in human computer interaction applications");

- *new groups*: whether the flag lives in groups new to the corpus and did not rise in the others (a venue, source
  or programme entering the corpus brings its own vocabulary: `BurstRules.new_groups`);
- *group mix*: whether the flag rose only because the groups it lives in grew. A programme's vocabulary
  ("career development", "secondments" in the Marie Curie fellowships) rises with the programme's share of
  the corpus, not within it. `BurstRules.mix` compares the flag's recent count with the count expected from each
  group family's baseline rate (call codes without their numbers: HORIZON-MSCA-2023-PF-01-01 and
  HORIZON-MSCA-2024-PF-01-01 are one family) applied to the recent mix of families; the share of the flag's
  rise above its overall baseline rate that the mix explains is its mix share;

and labels the flag `burst` with the reason when one of them passes its threshold, else `emerging`.

Before that, `style_reason` asks whether the flag's marker (a term flag's term; a topic flag's top terms)
names a thing at all. A shift in writing style also rises and persists ("delves", "valuable insights",
"plays pivotal", "underscores", "aligns eu": the phrasing of machine-assisted proposals in CORDIS 2024-25),
but a theme has content words. The rule, on each word's part of speech where it occurs in the flag's
documents (spaCy, `nlp.phrases`): a term *names a thing* when its first word is not a verb (VERB, AUX: a
verb-led term is a predicate, "aligns eu") and one of its words is a noun or proper noun that is not
corpus-generic (common and spread evenly over the topics, `nlp.labels.generic_words`: "insights").
Genericness is judged against the corpus itself, so in a narrow corpus (patents that all mention neural
networks) a theme's own words are generic too: "convolutional neural networks" has no noun the corpus does
not use everywhere. What still tells it from a style shift is where its documents are: a style shift runs
through every topic in proportion to its size, a theme gathers in a few. So a term with a noun whose recent
documents are concentrated over the topics (`topic_concentration`: specificity above a threshold and beyond
what random documents of the same number reach, `nlp.term_trends.ChanceLine`) names a thing too, generic words or
a verb-led tag aside, and so does an adjective that gathers so ("convolutional", "deep" and "synaptic" in the
patents of 2015-18).
A compound of a noun that is not generic and a verb names the noun, though the tagger reads it as an adjective:
"LLM-based", "instruction-tuned", "AI-driven" say what a thing is made with; idioms of nouns and adjectives
("cutting-edge", "in-depth", "state-of-the-art", "user-friendly") do not.
A term the documents abbreviate names a thing whatever its words: "large language models (LLMs)",
"multimodal large language models (MLLMs)", "spiking neural networks (SNNs)" (`abbreviated`). Writing style is
never given an abbreviation, while a theme that runs through a whole field (LLMs in the ACL papers of 2023-24)
is spread over the topics as a style shift is and is made of that field's generic words. A flag none of whose
marker terms names a thing is `style`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import combinations

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from nlp.term_trends import excess_per_document, topic_shares
from nlp.topics import TOKEN_PATTERN
from nlp.trends import mix_share, rose

OUTLIER = -1
TEMPLATE_JACCARD = 0.5
VERBS = frozenset({"VERB", "AUX"})
NOUNS = frozenset({"NOUN", "PROPN"})
SPREAD_P = 0.05  # one-sided level of "it rose in the other groups too" (`BurstRules.spreading`)
MODIFIED = NOUNS | {"ADJ"}  # what a term gathering in a few topics needs to name a thing
SHINGLE = 5
WORD = re.compile(r"\w+")
ABBREVIATION = re.compile(r"\(([A-Za-z][A-Za-z0-9-]{1,11})\)")  # "(LLMs)", "(GAN)", "(RAG)"
PHRASE_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*")  # a word, hyphenated ones whole
TERM_WORD = re.compile(TOKEN_PATTERN)  # a word as the term cells read it: "short-term" is one


def one_per_document(docs: pd.DataFrame) -> pd.DataFrame:
    """One row per document (rows repeat a document once per organisation)."""
    return docs.drop_duplicates("doc_id") if "doc_id" in docs else docs


def top_share(values: pd.Series) -> tuple[object, float]:
    """The most frequent value among the non-missing ones and its share (None, 0 when there are none)."""
    values = values.dropna()
    values = values[values.astype(str) != ""]
    if values.empty:
        return None, 0.0
    counts = values.value_counts()
    return counts.index[0], float(counts.iloc[0] / len(values))


def busiest_period(flag_periods: pd.Series, all_periods: pd.Series) -> tuple[object, float]:
    """The recent period in which a flag's documents are the largest share of all documents, and that share's part
    of the shares summed over the periods with documents (1/k for a flag as common in each of k periods). Rates,
    not counts: papers dated by their conference month crowd the conference's period, and a theme's papers with
    them ("bert" in ACL: 90 % of its recent papers in EMNLP's quarter, as were most of all recent papers)."""
    volume = all_periods.value_counts()
    rate = flag_periods.value_counts().reindex(volume.index, fill_value=0) / volume
    if volume.empty or rate.sum() == 0:
        return None, 0.0
    return rate.idxmax(), float(rate.max() / rate.sum())


def batch(flag_days: np.ndarray, all_days: np.ndarray, span: int, min_most: int = 0, min_lift: float = 0.0,
          draws: int = 200, seed: int = 0) -> tuple[int, pd.Timestamp | None, float, float]:
    """The most of a flag's documents dated within `span` consecutive days, the first of those days, all
    documents' share in those days, and the p-value: the share of `draws` random sets of as many documents, drawn
    from all (`all_days`), whose most within `span` days reaches it (a permutation null: it keeps the corpus's own
    clumping of dates). Dates as `day_numbers`; none: (0, None, 0, 1). Fewer than `min_most`, or a share of the
    flag's documents under `min_lift` x all documents' share: p = 1 without drawing."""
    if not len(flag_days):
        return 0, None, 0.0, 1.0
    most, first = _most_within(flag_days, span)
    start = flag_days[first]
    base = float(np.searchsorted(all_days, start + span) - np.searchsorted(all_days, start)) / len(all_days)
    when = pd.Timestamp(np.datetime64(int(start), "D"))
    if most < min_most or most / len(flag_days) < min_lift * base:
        return most, when, base, 1.0
    rng = np.random.default_rng(seed)
    null = [_most_within(np.sort(rng.choice(all_days, len(flag_days), replace=False)), span)[0] for _ in range(draws)]
    return most, when, base, (1 + sum(value >= most for value in null)) / (1 + draws)


def day_numbers(dates: pd.Series) -> np.ndarray:
    """Dates as sorted day numbers, missing ones left out."""
    dates = pd.to_datetime(dates.dropna())
    return np.sort(dates.to_numpy(dtype="datetime64[D]").astype(np.int64))


def _most_within(days: np.ndarray, span: int) -> tuple[int, int]:
    """(the most sorted `days` within `span` days of one of them, the index of that first one)."""
    counts = np.searchsorted(days, days + span, side="left") - np.arange(len(days))
    first = int(counts.argmax())
    return int(counts[first]), first


def template_share(texts: list[str], max_docs: int = 200) -> float:
    """Share of texts whose 5-word shingles overlap another text's by Jaccard >= TEMPLATE_JACCARD."""
    texts = texts[:max_docs]
    shingles = []
    for text in texts:
        words = WORD.findall((text or "").lower())
        shingles.append({" ".join(words[i:i + SHINGLE]) for i in range(max(len(words) - SHINGLE + 1, 1))})
    repeated = np.zeros(len(texts), dtype=bool)
    for i, j in combinations(range(len(texts)), 2):
        a, b = shingles[i], shingles[j]
        if a and b and len(a & b) / len(a | b) >= TEMPLATE_JACCARD:
            repeated[i] = repeated[j] = True
    return float(repeated.mean()) if len(texts) else 0.0


def topic_concentration(doc_topics: np.ndarray, all_topics: np.ndarray) -> tuple[float, int]:
    """How unevenly a term's documents spread over the topics, against all documents: (specificity, documents).

    Specificity is the bias-corrected excess chi-square per document of the term's documents' topics against all
    documents' topics, (chi2 - (K - 1)) / n (`nlp.term_trends.excess_per_document`: about 0 for documents
    spread like the corpus, K - 1 inside one topic); whether random sets of as many documents reach it is
    `nlp.term_trends.ChanceLine`'s. Outliers (topic -1) are left out, of the documents counted too; none: (0, 0).
    """
    labels, share = topic_shares(all_topics)
    doc_topics = np.asarray(doc_topics)
    doc_topics = doc_topics[doc_topics != OUTLIER]
    n = len(doc_topics)
    if n == 0 or len(labels) < 2:
        return 0.0, n
    counts = np.bincount(np.searchsorted(labels, doc_topics), minlength=len(labels))
    return float(excess_per_document(counts[:, None], share)[0]), n


def _spelled_from(units: list[re.Match], letters: str, started: bool) -> int | None:
    """Where the words ending `units` whose initials spell `letters` start (a character offset), or None. A
    hyphenated word gives its first initial or one per piece ("pre-trained language models (PLMs)", "chain-of-thought
    (CoT)"); a stop word between them is skipped ("representations from transformers")."""
    if not units:
        return None
    word = units[-1].group().lower()
    pieces = [p for p in word.split("-") if p]
    for initials in dict.fromkeys([word[0], "".join(p[0] for p in pieces)]):
        if letters.endswith(initials):
            rest = letters[: -len(initials)]
            start = units[-1].start() if not rest else _spelled_from(units[:-1], rest, True)
            if start is not None:
                return start
    if started and word in ENGLISH_STOP_WORDS:
        return _spelled_from(units[:-1], letters, True)
    return None


def defined_abbreviations(text: str) -> list[tuple[str, str]]:
    """The (phrase, abbreviation) pairs a text defines, lower-cased: "large language models (LLMs)" ->
    ("large language models", "llms"). The abbreviation's letters (a plural "s" aside) must be the initials of
    the words before it (`_spelled_from`)."""
    pairs = []
    for match in ABBREVIATION.finditer(text or ""):
        short = match.group(1)
        letters = "".join(c.lower() for c in re.sub(r"s$", "", short) if c.isalpha())
        if sum(c.isupper() for c in short) < 2 or not 2 <= len(letters) <= 8:
            continue
        before = text[max(match.start() - 200, 0):match.start()]
        start = _spelled_from(list(PHRASE_WORD.finditer(before)), letters, False)
        if start is not None:
            phrase = [w.lower() for w in TERM_WORD.findall(before[start:]) if w.lower() not in ENGLISH_STOP_WORDS]
            pairs.append((" ".join(phrase), short.lower()))
    return pairs


def abbreviated(terms: list[str], texts: list[str], min_docs: int = 3) -> set[str]:
    """The `terms` that at least `min_docs` of `texts` abbreviate: a defined abbreviation ("llms"), the phrase it
    stands for ("chain-of-thought" from "chain-of-thought (CoT)"), or two or more consecutive words of the phrase
    followed by the abbreviation, as the term cells read the text ("multimodal large language", "models llms" from
    "large language models (LLMs)")."""
    found: dict[str, int] = {}
    for text in texts:
        named = set()
        for phrase, short in defined_abbreviations(text):
            named |= {phrase, short, short.rstrip("s")}  # the phrase itself: "chain-of-thought" is one word
            words = [*phrase.split(), short]
            named |= {" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 2, len(words) + 1)}
        for term in set(terms) & named:
            found[term] = found.get(term, 0) + 1
    return {term for term, n in found.items() if n >= min_docs}


def pieces(word: str) -> list[str]:
    """The pieces of a hyphenated word that can carry content: "llm-based" -> ["llm", "based"]; "state-of-the-art"
    -> ["state", "art"]; a word without a hyphen has none."""
    return [p for p in word.split("-") if len(p) > 1 and p not in ENGLISH_STOP_WORDS] if "-" in word else []


def tagged_words(terms: list[str]) -> list[str]:
    """The words whose part of speech `names_a_thing` reads for `terms`: each term's words and their `pieces`."""
    return list(dict.fromkeys(x for t in terms for w in t.split() for x in (w, *pieces(w))))


def _content(word: str, pos: dict[str, str], generic: set[str] | frozenset) -> bool:
    """A proper noun, a noun not in `generic`, or a hyphenated word made of such a noun and a verb: "LLM-based",
    "transformer-based", "instruction-tuned" and "AI-driven" are adjectives to the tagger, but they say what a
    thing is made with. Idioms made of nouns and adjectives ("cutting-edge", "in-depth", "state-of-the-art",
    "user-friendly": the phrasing of machine-assisted proposals) do not. A proper noun names a thing even when
    every topic uses it: a named thing spread over all topics (BERT, LLMs, COVID-19) is a theme that cuts across
    them, not phrasing; a generic common noun ("insights", "needs", "gap") is phrasing."""
    if pos.get(word) == "PROPN" or (pos.get(word) in NOUNS and word not in generic):
        return True
    *head, last = pieces(word) or [word]
    return pos.get(last) in VERBS and any(pos.get(p) in NOUNS and p not in generic for p in head)


def names_a_thing(term: str, pos: dict[str, str], generic: set[str] | frozenset,
                  concentrated: set[str] | frozenset = frozenset(), named: set[str] | frozenset = frozenset()) -> bool:
    """Whether `term` is not led by a verb and has a content word (a noun or proper noun not in `generic`, or a
    noun-verb compound with such a noun, `_content`), or is in `concentrated` (its documents gather in a few
    topics) and has a noun, proper noun or adjective ("convolutional" and "deep" alone name a subject where they
    gather), or is in `named` (the documents abbreviate it, `abbreviated`); `pos`: the part of speech of each word
    and piece (`tagged_words`)."""
    words = term.split()
    if term in named:
        return True
    if term in concentrated and any(pos.get(w) in MODIFIED for w in words):
        return True
    return pos.get(words[0]) not in VERBS and any(_content(w, pos, generic) for w in words)


def style_reason(terms: list[str], pos: dict[str, str], generic: set[str] | frozenset,
                 concentrated: set[str] | frozenset = frozenset(), named: set[str] | frozenset = frozenset()
                 ) -> str | None:
    """Why a flag whose marker is `terms` is writing style rather than a theme; None when a term names a thing
    (`concentrated`: the terms whose documents gather in a few topics; `named`: those the documents abbreviate)."""
    if not terms or any(names_a_thing(t, pos, generic, concentrated, named) for t in terms):
        return None
    described = [" ".join(f"{w}/{pos.get(w, 'X')}{' generic' if w in generic and pos.get(w) in NOUNS else ''}"
                          for w in t.split()) for t in terms]
    return "writing style, no content word: " + "; ".join(described)


def spelled_group(term: str, groups: pd.Series, min_share: float) -> object | None:
    """The group whose identifier spells `term` — every word of it a token of the code, as "msca-pf" in
    HORIZON-MSCA-2023-PF-01-01 or "wmt" in venue WMT — when more than `min_share` of `groups` (one per
    document) are such groups: the flag names its call or venue, not a theme. None otherwise."""
    words = set(WORD.findall(term.lower()))
    groups = groups.dropna().astype(str)
    if not words or groups.empty:
        return None
    spelled = groups[[words <= set(WORD.findall(g.lower())) for g in groups]]
    return top_share(spelled)[0] if len(spelled) > min_share * len(groups) else None


@lru_cache(maxsize=65536)  # a corpus has few codes, and every flag of a detection maps the same ones
def group_family(group: object) -> str:
    """A call / topic code without its number parts, the same for every year's call: HORIZON-MSCA-2023-PF-01-01
    -> HORIZON-MSCA-PF, ERC-2021-STG -> ERC-STG; a venue or source name is its own family."""
    parts = re.split(r"[-_/ ]+", str(group).strip())
    return "-".join(p for p in parts if p and not p.isdigit()) or str(group)


def families(docs: pd.DataFrame) -> pd.Series:
    """The group family (`group_family`) of each of `docs`' documents that has a group."""
    one = one_per_document(docs)
    return one["group"].dropna().map(group_family) if "group" in one else pd.Series(dtype=object)


class BurstRules:
    """The burst rules of one detection: `rules(flag_docs, ...)` is `("emerging" | "burst", reason)` for a flag.

    The recent documents (and the baseline documents, for the group mix) are reduced once, for every flag.

    Args:
        recent_docs: all recent documents, with columns doc_id, period, text and optionally day (the date),
            group (call / topic code, venue, source) and org (one organisation per row; documents with several
            appear once per organisation).
        max_group_share: a group (or organisation) holding more than this share of the flag's documents ...
        min_group_lift: ... and at least this many times its share of all recent documents is a burst, unless
            (a group, with `base_docs`) the flag also rose in the other groups (`spreading`).
        max_period_share: more than this part of its rate in one recent period, not the latest, is a spike
            (`busiest_period`).
        batch_days, max_batch_share, batch_p: more than `max_batch_share` of the flag's documents dated within
            `batch_days` days, `min_group_lift` times all recent documents' share in those days and more than
            random sets of as many recent documents reach (p-value below `batch_p`, `batch`), is one batch.
        max_template_share: more than this share of near-identical texts is one template.
        max_mix_share: a flag whose rise the recent mix of group families explains by at least this share
            (`mix`) is a burst.
        min_docs, min_growth: the detector's own support and growth: a flag with more than `max_group_share` of
            its recent documents in families new to the corpus (none in the baseline) and not rising by them
            within the other families is a burst (`new_groups`).
        base_docs: all baseline documents (columns doc_id, group); None: the mix and new groups are not checked.
        prior_docs: the pseudo-documents that shrink a family's baseline rate to the flag's overall rate.
    """

    def __init__(self, recent_docs: pd.DataFrame, *, max_group_share: float, min_group_lift: float,
                 max_period_share: float, max_template_share: float, max_mix_share: float, min_docs: int,
                 min_growth: float, batch_days: int = 7, max_batch_share: float = 0.4, batch_p: float = 0.01,
                 base_docs: pd.DataFrame | None = None, prior_docs: float = 10.0):
        self.max_group_share, self.min_group_lift = max_group_share, min_group_lift
        self.max_period_share, self.max_template_share = max_period_share, max_template_share
        self.batch_days, self.max_batch_share, self.batch_p = batch_days, max_batch_share, batch_p
        self.max_mix_share, self.prior_docs = max_mix_share, prior_docs
        self.min_docs, self.min_growth = min_docs, min_growth
        documents = one_per_document(recent_docs)
        self.periods, self.latest = documents["period"], recent_docs["period"].max()
        self.days = day_numbers(documents["day"]) if "day" in documents else None  # once, for every flag
        self.shares = {c: recent_docs[c].value_counts(normalize=True, dropna=False) for c in ("group", "org")
                       if c in recent_docs}  # each group's and organisation's share of the recent rows
        recent = families(recent_docs)
        self.n_recent, self.recent_counts = len(recent), recent.value_counts()
        base = pd.Series(dtype=object) if base_docs is None else families(base_docs)
        self.n_base, self.base_counts = len(base), base.value_counts()
        self.recent_known = int(self.recent_counts.reindex(self.base_counts.index, fill_value=0).sum())

    def mix(self, flag_recent: pd.Series, flag_before: pd.Series) -> tuple[float, str | None, float, float]:
        """How much of a flag's rise the recent mix of group families explains: (mix share, the family whose
        growth explains most, its share of the baseline and of the recent documents), from the families of the
        flag's recent and baseline documents (`families`).

        The mix share is `nlp.trends.mix_share` with the group families as groups (O the flag's recent documents,
        E0 = recent documents x the flag's baseline rate, E = the sum over families of their recent documents x
        the flag's shrunk baseline rate within the family): 1 when the flag's rate within every family stayed
        where it was. 0 when it has no baseline documents, did not rise, or has no groups."""
        if not self.n_base or not self.n_recent or flag_before.empty:
            return 0.0, None, 0.0, 0.0
        per = pd.DataFrame({"base": self.base_counts, "recent": self.recent_counts,
                            "flag_base": flag_before.value_counts()}).fillna(0.0)
        share, per["rate"] = mix_share(per["base"], per["flag_base"], per["recent"], len(flag_recent),
                                       self.prior_docs)
        if share == 0.0:
            return 0.0, None, 0.0, 0.0
        per["before"], per["after"] = per["base"] / self.n_base, per["recent"] / self.n_recent
        grown = ((per["after"] - per["before"]) * per["rate"]).idxmax()
        return share, grown, float(per.at[grown, "before"]), float(per.at[grown, "after"])

    def new_groups(self, flag_recent: pd.Series, flag_before: pd.Series) -> tuple[float, list[str]] | None:
        """(share, the commonest three) of the flag's recent documents in group families new to the corpus, when
        more than `max_group_share` are and the flag did not rise within the other families (fewer than
        `min_docs` documents there, or a rate there under `min_growth` x its baseline rate); else None. The
        arguments are the families of the flag's recent and baseline documents (`families`).

        A venue, source or programme that enters the corpus brings its own vocabulary, which has no baseline to
        rise from: LREC's proceedings and workshops first appear in the ACL corpus in 2020, 84 % of the papers of
        the first half-year, and "language resource", "technologies", "hours" rose only there."""
        if not self.n_base:
            return None
        new = ~flag_recent.isin(self.base_counts.index)
        if flag_recent.empty or new.mean() <= self.max_group_share:
            return None
        n_old = int((~new).sum())
        base_rate = len(flag_before) / self.n_base
        if n_old >= self.min_docs and n_old >= self.min_growth * base_rate * self.recent_known:
            return None
        return float(new.mean()), flag_recent[new].value_counts().index[:3].tolist()

    def spreading(self, family: str, flag_recent: pd.Series, flag_before: pd.Series) -> bool:
        """Whether a flag gathered in one group family also rose in the other families: at least `min_docs` of its
        recent documents outside it, at a rate `min_growth` times its baseline rate outside it, beyond chance
        (`nlp.trends.rose` at `SPREAD_P`; the arguments: the family, and the families of the flag's recent and
        baseline documents, `families`). A theme that starts at one venue and spreads is not that venue's burst:
        "transformer" at 2018-12-31 has 32 of its 52 ACL papers at WMT and rose 4.8 times in the other venues."""
        if not self.n_base:
            return False
        others_recent = self.n_recent - int(self.recent_counts.get(family, 0))
        others_base = self.n_base - int(self.base_counts.get(family, 0))
        k_recent, k_base = int((flag_recent != family).sum()), int((flag_before != family).sum())
        return rose(k_recent, others_recent, k_base, others_base, min_docs=self.min_docs, min_growth=self.min_growth,
                    alpha=SPREAD_P)

    def __call__(self, flag_docs: pd.DataFrame, marker: list[str] = (),
                 flag_base: pd.DataFrame | None = None) -> tuple[str, str]:
        """`("emerging" | "burst", reason)` for a flag from its recent documents (columns as `recent_docs`), its
        marker (a term flag's term or a topic flag's terms: a first term spelled by the identifier of the group of
        more than `max_group_share` of the documents is a burst, `spelled_group`) and its baseline documents
        (None: the mix is not checked)."""
        texts = one_per_document(flag_docs)
        if flag_base is not None:  # the families of its recent and baseline documents, for the group rules
            flag_recent, flag_before = families(texts), families(flag_base)
        if marker and "group" in flag_docs:
            group = spelled_group(marker[0], texts["group"], self.max_group_share)
            if group is not None:
                return "burst", f"names the group of its documents ({group}): a call or venue, not a theme"
        for column, what in (("group", "group"), ("org", "organisation")):
            if column not in flag_docs or flag_docs[column].isna().all():
                continue
            value, share = top_share(flag_docs[column])
            base = float(self.shares[column].get(value, 0.0)) if column in self.shares else 0.0
            if value is not None and share > self.max_group_share and share >= self.min_group_lift * max(base, 1e-9):
                if column == "group" and flag_base is not None \
                        and self.spreading(group_family(value), flag_recent, flag_before):
                    continue  # rising in the other groups too: not the group's burst
                return "burst", f"{share:.0%} of its recent documents in {what} {value} ({base:.0%} of all)"
        if flag_base is not None:
            share, family, before, after = self.mix(flag_recent, flag_before)
            if family is not None and share >= self.max_mix_share:
                return "burst", (f"its rise follows the growth of {family} ({before:.0%} -> {after:.0%} of the "
                                 f"documents): the mix of group families explains {share:.0%} of its rise")
            new = self.new_groups(flag_recent, flag_before)
            if new is not None:
                return "burst", (f"{new[0]:.0%} of its recent documents in groups new to the corpus "
                                 f"({', '.join(new[1])}); it did not rise in the others")
        period, share = busiest_period(texts["period"], self.periods)
        if share > self.max_period_share and period != self.latest:  # in the latest: still rising
            return "burst", (f"{share:.0%} of its rate in one period ({pd.Timestamp(period).date()}), lower after it")
        if self.days is not None and "day" in texts:
            days = day_numbers(texts["day"])
            most, start, base, p = batch(days, self.days, self.batch_days,
                                         min_most=int(self.max_batch_share * len(days)) + 1,
                                         min_lift=self.min_group_lift)
            if p < self.batch_p:
                end = (start + pd.Timedelta(days=self.batch_days - 1)).date()
                return "burst", (f"{most} of its {len(days)} recent documents dated {start.date()} .. {end} ({base:.0%}"
                                 f" of all): one batch (random sets of as many recent documents: p = {p:.3f})")
        template = template_share(texts["text"].tolist())
        if template > self.max_template_share:
            return "burst", f"{template:.0%} of its recent documents share near-identical wording"
        return "emerging", "spread over groups, periods and wordings"
