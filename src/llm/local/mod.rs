//! The `local` provider: lrt's offline default. Deterministic and rule-based, with no model
//! server and no weights, so a fresh install builds a useful graph from ordinary prose.
//!
//! It answers from the structured [`Task`], never from the prompt text:
//! * extraction: proper-noun phrases and acronyms become entities, typed from simple cues;
//!   entities that share a sentence become relations (`extract`);
//! * gleaning: nothing to add, since extraction is exhaustive in one pass;
//! * summaries: extractive, by greedy coverage of content words (`summary`);
//! * query keywords: named things and content words, by rule (`keywords`);
//! * answers: extractive, the context sentences sharing most terms with the question, each
//!   cited with its reference (`answer`);
//! * embeddings: lexical feature hashing (`embed`).
//!
//! The answers are pure functions of their inputs: the same text always gives the same graph
//! and the same vectors, on every platform and release with the same [`MODEL`] name.

mod answer;
mod embed;
mod extract;
mod keywords;
pub mod rerank;
mod summary;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

use super::{ChatRequest, ChatResponse, LlmError, ModelIdentity, ModelProvider, Task, TextStream};

/// The model name in [`ModelIdentity`]. It names both the rules and the hashing, so bump it
/// whenever an answer or a vector could change: cached answers and stored vectors of an older
/// version must not be mixed with new ones.
pub const MODEL: &str = "lrt-hash-v2";

/// The cosine threshold of the local embedder: above the noise of hash collisions, below a
/// question that shares one rare word with a chunk (measured in `docs/offline.md`).
pub const COSINE_THRESHOLD: f32 = 0.02;

/// LightRAG's field delimiter and completion line.
const TUPLE: &str = "<|#|>";
const COMPLETE: &str = "<|COMPLETE|>";

/// How many pieces `chat_stream` sends.
const STREAM_PIECES: usize = 4;

/// The offline provider; `dim` is the embedding dimension.
#[derive(Debug, Clone)]
pub struct LocalProvider {
    dim: usize,
}

impl LocalProvider {
    pub fn new(dim: usize) -> Self {
        LocalProvider { dim }
    }

    /// The answer to a task.
    pub fn answer(task: &Task) -> String {
        match task {
            Task::Extract { text } => extract::extract(text),
            // The extractor is exhaustive in one pass: a second pass over the same text finds
            // nothing new, so the gleaning answer holds no records.
            Task::Glean { .. } => COMPLETE.to_string(),
            Task::Summarize {
                kind,
                name,
                descriptions,
            } => summary::summarize(*kind, name, descriptions),
            Task::Keywords { query } => keywords::keywords(query),
            Task::Answer {
                query,
                keywords,
                chunks,
                references,
            } => answer::answer(query, keywords, chunks, references),
        }
    }
}

impl ModelProvider for LocalProvider {
    async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        Ok(ChatResponse {
            text: Self::answer(&req.task),
            truncated: false,
        })
    }

    async fn chat_stream(&self, req: &ChatRequest) -> Result<TextStream, LlmError> {
        let text = Self::answer(&req.task);
        let pieces = pieces(&text, STREAM_PIECES);
        // The channel holds every piece, so nothing waits on a reader and no task is spawned.
        let (tx, rx) = tokio::sync::mpsc::channel(pieces.len().max(1));
        for piece in pieces {
            tx.try_send(Ok(piece.to_string()))
                .expect("the channel holds every piece");
        }
        Ok(rx)
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        Ok(texts.iter().map(|t| embed::embed(t, self.dim)).collect())
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn identity(&self) -> ModelIdentity {
        ModelIdentity {
            binding: "local".into(),
            model: MODEL.into(),
            host: None,
        }
    }

    /// Lexical vectors share a dimension only where texts share a word, so related texts
    /// score well below a real model's 0.2: see [`COSINE_THRESHOLD`].
    fn default_cosine_threshold(&self) -> Option<f32> {
        Some(COSINE_THRESHOLD)
    }
}

/// Splits `text` into at most `n` pieces of about equal size, on character boundaries.
fn pieces(text: &str, n: usize) -> Vec<&str> {
    let size = text.len().div_ceil(n.max(1)).max(1);
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = size.min(rest.len());
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        let (head, tail) = rest.split_at(cut);
        out.push(head);
        rest = tail;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Text helpers shared by the tasks.

/// FNV-1a 64, written out so that embedding hashes never change between releases or
/// platforms; also a fast hasher for the short keys of the maps here.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

pub(super) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;
type FastSet<K> = HashSet<K, BuildHasherDefault<Fnv>>;

/// A word of a sentence: a run of alphanumerics, with inner hyphens and apostrophes
/// ("Joliot-Curie", "Curie's") and the dots of dotted acronyms ("U.S.").
#[derive(Debug, Clone)]
struct Token<'a> {
    text: &'a str,
    start: usize,
    end: usize,
    /// Something other than whitespace (punctuation) separates it from the previous token.
    gap: bool,
    /// [`key`] of the text, and its lexicon flags: looked up once.
    lower: Cow<'a, str>,
    class: u32,
}

fn tokens(s: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut prev_end = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if !c.is_alphanumeric() {
            continue;
        }
        let mut end = start + c.len_utf8();
        while let Some(&(j, d)) = chars.peek() {
            let after = j + d.len_utf8();
            let joins = d.is_alphanumeric()
                || (matches!(d, '-' | '\'' | '’' | '.')
                    && s[after..].chars().next().is_some_and(char::is_alphanumeric)
                    && (d != '.' || dotted(&s[start..end])));
            if !joins {
                break;
            }
            end = after;
            chars.next();
        }
        if s[start..end].contains('.') && s[end..].starts_with('.') {
            end += 1;
            chars.next();
        }
        let text = &s[start..end];
        let lower = key(text);
        out.push(Token {
            text,
            start,
            end,
            gap: !s[prev_end..start].trim().is_empty(),
            class: class(&lower),
            lower,
        });
        prev_end = end;
    }
    out
}

/// Single characters joined by dots so far ("U", "U.S", "e.g"): a dot may continue the token.
fn dotted(w: &str) -> bool {
    w.split('.').all(|p| p.chars().count() == 1)
}

/// The lexicon key of a word: lowercase, without a possessive `'s`.
fn key(word: &str) -> Cow<'_, str> {
    let w = word
        .strip_suffix("'s")
        .or_else(|| word.strip_suffix("’s"))
        .unwrap_or(word);
    if w.chars().any(char::is_uppercase) {
        Cow::Owned(w.to_lowercase())
    } else {
        Cow::Borrowed(w)
    }
}

/// Splits text into sentences: at `.`, `!`, `?` (and closing quotes or brackets) followed by
/// whitespace or the end; never after a title or dotted abbreviation ("Mr.", "Dr.", "e.g.",
/// "U.S.", initials), and after "Inc.", "Jr.", "etc." only before a capital. Blank lines,
/// headings and list items also end a sentence. Slices are trimmed; empty ones are dropped.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if i < start {
            continue;
        }
        let cut = match c {
            '\n' => line_break(text, i).then_some(i + 1),
            '.' | '!' | '?' | '…' => terminal(text, start, i, c),
            _ => None,
        };
        if let Some(end) = cut {
            push_sentence(&mut out, &text[start..end]);
            start = end;
        }
    }
    push_sentence(&mut out, &text[start..]);
    out
}

fn push_sentence<'a>(out: &mut Vec<&'a str>, s: &'a str) {
    let s = s.trim();
    if s.chars().any(char::is_alphanumeric) {
        out.push(s);
    }
}

/// Where the sentence ends if the terminal `c` at `i` ends it.
fn terminal(text: &str, start: usize, i: usize, c: char) -> Option<usize> {
    let rest = &text[i + c.len_utf8()..];
    let tail = rest.trim_start_matches(['.', '!', '?', '…', '"', '\'', ')', ']', '”', '’']);
    let end = text.len() - tail.len();
    let next = tail.trim_start();
    let Some(n) = next.chars().next() else {
        return Some(end);
    };
    if next.len() == tail.len() || c != '.' || end > i + 1 {
        return (next.len() < tail.len()).then_some(end);
    }
    match abbreviation(&text[start..i]) {
        Some(ABBR) => None,
        Some(_) if !n.is_uppercase() => None,
        _ => Some(end),
    }
}

/// The kind of abbreviation the word before a dot is: [`ABBR`] (the dot never ends a
/// sentence: titles, initials, "e.g."), [`SOFT_ABBR`] (it may: "Inc.", "Jr.", "etc."), or none.
fn abbreviation(before: &str) -> Option<u32> {
    let w = before
        .rsplit(|c: char| !(c.is_alphanumeric() || c == '.'))
        .next()
        .unwrap_or("");
    let mut chars = w.chars();
    let abbr = match (chars.next(), chars.next()) {
        (None, _) => false,
        (Some(c), None) => c.is_uppercase(),
        _ => w.contains('.'),
    };
    if abbr {
        return Some(ABBR);
    }
    let c = class(&w.to_lowercase());
    [ABBR, SOFT_ABBR].into_iter().find(|&f| c & f != 0)
}

/// Whether the newline at `i` ends a sentence: a blank line follows, the line was a markdown
/// heading, or the next line starts a list item, heading, quote or table row. Other newlines
/// are soft wraps inside a sentence.
fn line_break(text: &str, i: usize) -> bool {
    let line = text[..i].rsplit('\n').next().unwrap_or("").trim_start();
    let next = text[i + 1..].trim_start_matches([' ', '\t', '\r']);
    let numbered = next.trim_start_matches(|c: char| c.is_ascii_digit());
    next.starts_with('\n')
        || line.starts_with('#')
        || next.starts_with(['#', '-', '*', '•', '>', '|'])
        || (numbered.len() < next.len() && list_mark(numbered))
}

/// Whether the text after a line's leading digits makes it a list item: "1. " or "2) ", not
/// a number that continues a wrapped sentence ("1.5 megawatts", "3,000 people").
fn list_mark(after_digits: &str) -> bool {
    let mut chars = after_digits.chars();
    matches!(chars.next(), Some('.' | ')')) && chars.next().is_none_or(char::is_whitespace)
}

/// Collapses whitespace runs (newlines included) to one space and drops leading markdown marks.
fn squash(s: &str) -> String {
    let s = s.trim_start_matches(|c: char| matches!(c, '#' | '*' | '>' | '•' | '|') || c.is_whitespace());
    let s = s.strip_prefix("- ").unwrap_or(s);
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Cuts `s` to at most `max` characters, at a word boundary, marking the cut with "…".
fn cap_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut = s.char_indices().nth(max.saturating_sub(1)).map_or(s.len(), |(i, _)| i);
    let head = &s[..cut];
    let head = head.rfind(' ').map_or(head, |i| &head[..i]);
    format!("{}…", head.trim_end_matches([',', ';', ':', ' ']))
}

/// The root a word is matched by in embeddings and answers: the base form of a common
/// irregular verb ("left" → "leave", "spake" → "speak"), else its Porter2 (Snowball English)
/// stem ("buried" and "bury" → "buri", "died" → "die"). Takes a lowercase word.
pub(super) fn root(lower: &str) -> Cow<'_, str> {
    match IRREGULAR_BASE.get(lower) {
        Some(base) => STEMMER.stem(base),
        None => STEMMER.stem(lower),
    }
}

/// [`IRREGULAR`] as a map: every new word is looked up in it.
static IRREGULAR_BASE: LazyLock<FastMap<&'static str, &'static str>> =
    LazyLock::new(|| IRREGULAR.iter().copied().collect());

static STEMMER: LazyLock<rust_stemmers::Stemmer> =
    LazyLock::new(|| rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English));

/// Past forms of common irregular verbs, which no suffix rule reaches, and their base forms.
/// Not "found", which is also the verb of "founded".
const IRREGULAR: &[(&str, &str)] = &[
    ("ate", "eat"),
    ("bare", "bear"),
    ("began", "begin"),
    ("begun", "begin"),
    ("bore", "bear"),
    ("born", "bear"),
    ("bought", "buy"),
    ("brought", "bring"),
    ("built", "build"),
    ("came", "come"),
    ("chose", "choose"),
    ("chosen", "choose"),
    ("did", "do"),
    ("done", "do"),
    ("drank", "drink"),
    ("drew", "draw"),
    ("drove", "drive"),
    ("eaten", "eat"),
    ("fell", "fall"),
    ("fallen", "fall"),
    ("felt", "feel"),
    ("fled", "flee"),
    ("flew", "fly"),
    ("forgot", "forget"),
    ("fought", "fight"),
    ("gave", "give"),
    ("given", "give"),
    ("gone", "go"),
    ("went", "go"),
    ("grew", "grow"),
    ("grown", "grow"),
    ("heard", "hear"),
    ("held", "hold"),
    ("hid", "hide"),
    ("hidden", "hide"),
    ("kept", "keep"),
    ("knew", "know"),
    ("known", "know"),
    ("laid", "lay"),
    ("led", "lead"),
    ("left", "leave"),
    ("lost", "lose"),
    ("made", "make"),
    ("meant", "mean"),
    ("met", "meet"),
    ("paid", "pay"),
    ("ran", "run"),
    ("rode", "ride"),
    ("rose", "rise"),
    ("risen", "rise"),
    ("said", "say"),
    ("saith", "say"),
    ("sat", "sit"),
    ("saw", "see"),
    ("seen", "see"),
    ("sent", "send"),
    ("slain", "slay"),
    ("slew", "slay"),
    ("smote", "smite"),
    ("smitten", "smite"),
    ("sold", "sell"),
    ("sought", "seek"),
    ("spake", "speak"),
    ("spoke", "speak"),
    ("spoken", "speak"),
    ("spent", "spend"),
    ("stood", "stand"),
    ("stole", "steal"),
    ("struck", "strike"),
    ("taken", "take"),
    ("took", "take"),
    ("taught", "teach"),
    ("thought", "think"),
    ("threw", "throw"),
    ("told", "tell"),
    ("won", "win"),
    ("wore", "wear"),
    ("wrote", "write"),
    ("written", "write"),
];

/// The roots of content words, each word stemmed once per memo: a context repeats its words
/// many times, and stemming every occurrence was half of an uncached offline answer's
/// instructions. One memo serves one answer or one rerank.
#[derive(Default)]
pub(super) struct Roots(HashMap<String, String>);

impl Roots {
    /// The roots of the content words of `text`, in order and repeated as they occur: lowercase
    /// words of three or more letters that are not function words, each by [`root`] ("buried"
    /// → "buri"). The answerer and the reranker match text by these.
    pub(super) fn of<'a>(&'a mut self, text: &'a str) -> impl Iterator<Item = String> + 'a {
        text.split(|c: char| !c.is_alphanumeric())
            .map(str::to_lowercase)
            .filter(|w| is_content_word(w))
            .map(|w| match self.0.get(&w) {
                Some(r) => r.clone(),
                None => {
                    let r = root(&w).into_owned();
                    self.0.insert(w, r.clone());
                    r
                }
            })
    }

    /// The distinct content terms of a text ([`Roots::of`]), ordered, so that scores are summed
    /// in one order and equal sentences tie exactly on every run.
    pub(super) fn terms(&mut self, text: &str) -> std::collections::BTreeSet<String> {
        self.of(text).collect()
    }
}

/// Whether a lowercase word is matched by its root ([`Roots::of`]): three or more letters and
/// no function word.
pub(super) fn is_content_word(lower: &str) -> bool {
    lower.chars().count() > 2 && class(lower) & (STOP | STARTER) == 0
}

/// A crude plural strip ("banks" → "bank", "studies" → "study") so that inflections match.
fn stem(w: &str) -> &str {
    if w.len() > 4 && w.ends_with("ies") {
        return &w[..w.len() - 2]; // "studi" is as good as "study" for matching
    }
    if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        return &w[..w.len() - 1];
    }
    w
}

/// Whether a word is an acronym: 2 to 6 letters, all capitals ("NASA", "IBM", "U.S.").
fn acronym(w: &str) -> bool {
    let letters = w.chars().filter(|c| c.is_alphabetic()).count();
    (2..=6).contains(&letters) && !w.chars().any(char::is_lowercase) && w.starts_with(char::is_uppercase)
}

// ---------------------------------------------------------------------------------------------
// The lexicon: small English word lists, each a flag on the lowercase word.

/// Function words, pronouns and fillers: never entities, never content words.
const STOP: u32 = 1;
/// Capitalised only because they open a sentence or a question: adverbs, question words,
/// imperatives.
const STARTER: u32 = 1 << 1;
/// Titles before a person's name; not part of the name ("Dr. Jane Smith" → "Jane Smith").
const TITLE: u32 = 1 << 2;
/// Occupations and family roles: a person cue ("physicist Marie Curie", "X, a physicist").
const ROLE: u32 = 1 << 3;
const FIRST_NAME: u32 = 1 << 4;
/// Verbs that follow a person ("X said", "X, who").
const PERSON_VERB: u32 = 1 << 5;
/// Head nouns of a kind: "… University", "… River", "… War", "Theory of …".
const ORG: u32 = 1 << 6;
const LOC: u32 = 1 << 7;
const EVENT: u32 = 1 << 8;
const CONCEPT: u32 = 1 << 9;
const METHOD: u32 = 1 << 10;
const CONTENT: u32 = 1 << 11;
const DATA: u32 = 1 << 12;
const ARTIFACT: u32 = 1 << 13;
const NATURAL: u32 = 1 << 14;
/// Well-known places, matched on the whole lowercase name.
const PLACE: u32 = 1 << 15;
/// Prepositions before a place ("in X", "from X").
const LOC_PREP: u32 = 1 << 16;
/// Verbs before an organisation ("joined X", "founded X").
const ORG_VERB: u32 = 1 << 17;
/// Months and weekdays: capitalised but not entities on their own.
const CALENDAR: u32 = 1 << 18;
/// Nationality adjectives ("Polish", "French"): not entities on their own.
const DEMONYM: u32 = 1 << 19;
/// Abbreviations whose dot does not end a sentence.
const ABBR: u32 = 1 << 20;
/// Well-known organisations, matched on the whole lowercase name.
const BRAND: u32 = 1 << 21;
/// Abbreviations whose dot ends a sentence only before a capital.
const SOFT_ABBR: u32 = 1 << 22;

/// The head-noun flags, in the order of [`extract`]'s entity types after Person.
const HEADS: [u32; 9] = [ORG, LOC, EVENT, CONCEPT, METHOD, CONTENT, DATA, ARTIFACT, NATURAL];
const ANY_HEAD: u32 = ORG | LOC | EVENT | CONCEPT | METHOD | CONTENT | DATA | ARTIFACT | NATURAL;

const LISTS: &[(u32, &str)] = &[
    (
        STOP,
        "a an the and or but nor if of at by for with about against between into through during before \
         after above below to from up down in out on off over under again further then once here there \
         when where why how all any both each few more most other some such no not only own same so than \
         too very can will just should now i me my myself we our ours ourselves you your yours yourself \
         he him his himself she her hers herself it its itself they them their theirs themselves what \
         which who whom whose this that these those am is are was were be been being have has had having \
         do does did doing would could might must shall may also as until while because since although \
         though yet via per upon within without among across toward towards onto like unlike whether \
         either neither every many much several another etc near inside outside around beside behind \
         beyond along amid s t d ll re ve m o let lets us hello hi hey \
         thanks thank please ok okay yes thee thou thy thine ye hath hast doth dost shalt wilt \
         unto behold lo yea nay thereof therein thereto whereof wherefore hither thither thence whence \
         forasmuch peradventure howbeit whosoever whatsoever wherein whereby",
    ),
    (
        STARTER,
        "what who whom whose which when where why how however although though after before during \
         because since until unless while whereas meanwhile moreover furthermore additionally also then \
         thus hence therefore consequently finally eventually initially later earlier recently today \
         yesterday tomorrow now instead indeed perhaps still yet overall together according despite \
         following including given once throughout many most several some each every all both other \
         another such these those this that there here its one two three four five six seven eight \
         nine ten former tell explain describe list give show compare summarize summarise find define \
         identify discuss outline please can could would should is are was were do does did will has \
         have had in on at by for with from to of as if so but and or not no yes",
    ),
    (
        TITLE,
        "mr mrs ms miss mx dr prof professor sir dame lady lord president senator governor mayor king \
         queen prince princess pope bishop archbishop general colonel captain lieutenant sergeant admiral \
         chancellor minister premier emperor empress duke duchess ceo cto cfo coo chairman chairwoman rep \
         sen gov gen col capt lt sgt rev reverend judge",
    ),
    (
        ROLE,
        "physicist chemist scientist biologist mathematician engineer author writer novelist poet \
         journalist reporter editor artist painter composer musician singer actor actress director \
         producer politician lawyer doctor physician nurse teacher professor researcher economist \
         philosopher historian inventor entrepreneur founder co-founder cofounder ceo chief executive \
         president chairman minister senator spokesman spokeswoman spokesperson analyst student player \
         coach athlete explorer astronaut pilot soldier officer architect designer programmer developer \
         manager employee banker investor diplomat ambassador king queen wife husband son daughter father \
         mother brother sister colleague man woman boy girl person astronomer geologist psychologist \
         sociologist linguist surgeon pianist",
    ),
    (
        FIRST_NAME,
        "james john robert michael william david richard joseph thomas charles christopher daniel matthew \
         anthony mark donald steven paul andrew joshua kenneth kevin brian george timothy ronald edward \
         jason jeffrey ryan jacob gary nicholas eric jonathan stephen larry justin scott brandon benjamin \
         samuel frank gregory alexander patrick jack dennis peter henry carl arthur albert isaac marie \
         pierre henri jean louis mary patricia jennifer linda elizabeth barbara susan jessica sarah karen \
         nancy lisa betty margaret sandra ashley emily donna michelle carol amanda melissa deborah laura \
         rebecca sharon anna emma olivia sophia alice grace rachel catherine julia maria hannah jane ada \
         charlotte lucy helen ruth tim tom bob jim bill steve mike sam ben alan elon jeff satya sundar \
         sergey angela ahmed mohammed muhammad wei li chen yuki hiroshi carlos jose juan luis ana sofia \
         ivan olga hans klaus franz irene irène françois francois marco giovanni lars ingrid nelson \
         winston abraham barack hillary",
    ),
    (
        PERSON_VERB,
        "said says told wrote argued explained noted added stated believed thought died born married \
         studied graduated who whom himself herself recalled claimed insisted warned",
    ),
    (
        ORG,
        "company corporation corp inc ltd llc plc co group holdings university college institute agency \
         bank association society foundation council committee ministry department party union \
         organization organisation laboratory laboratories labs school academy museum hospital court \
         parliament senate congress army navy airlines motors technologies systems network federation \
         league club team commission authority bureau firm startup nonprofit charity manufacturer \
         publisher administration government police press studio studios corps fund board trust service \
         services institution centre center observatory",
    ),
    (
        LOC,
        "city town village river mountain mountains mount lake ocean sea island islands country kingdom \
         republic state states county province valley bay street road avenue park square desert forest \
         coast peninsula region district canyon gulf strait falls hill hills capital continent nation \
         harbour harbor bridge airport cathedral palace castle",
    ),
    (
        EVENT,
        "war conference festival olympics games summit election revolution championship championships cup \
         battle expo exhibition tournament ceremony crisis pandemic epidemic hurricane earthquake marathon \
         symposium strike protest massacre riot uprising coup",
    ),
    (
        CONCEPT,
        "theory law principle prize award effect syndrome disease doctrine paradox theorem equation \
         hypothesis policy physics chemistry biology mathematics ai ml api llm llms gpu cpu dna rna hiv gdp pdf \
         html http url sql json xml usb tv pc nlp rag covid iot",
    ),
    (METHOD, "method algorithm technique process protocol procedure"),
    (
        CONTENT,
        "book report journal paper album film movie novel magazine newspaper gazette article song series \
         manifesto treaty declaration constitution charter encyclopedia act",
    ),
    (DATA, "dataset database census index survey statistics registry"),
    (
        ARTIFACT,
        "telescope satellite rocket engine ship station computer phone processor chip aircraft device \
         machine reactor",
    ),
    (NATURAL, "comet asteroid planet galaxy volcano glacier nebula"),
    (
        PLACE,
        "africa asia europe america antarctica australia oceania arctic afghanistan argentina austria \
         bangladesh belgium brazil canada chile china colombia cuba denmark egypt england ethiopia finland \
         france germany ghana greece hungary iceland india indonesia iran iraq ireland israel italy japan \
         kenya korea mexico morocco netherlands nigeria norway pakistan peru philippines poland portugal \
         romania russia scotland singapore spain sweden switzerland syria taiwan thailand turkey uganda \
         ukraine vietnam wales britain us usa uk u.s. u.k. u.s.a. uae amsterdam athens bangkok barcelona \
         beijing berlin boston brussels cairo cambridge chicago delhi dublin edinburgh geneva hamburg \
         istanbul jakarta jerusalem lagos lisbon london madrid manchester melbourne miami milan moscow \
         mumbai munich nairobi oslo oxford paris prague rome seattle seoul shanghai stockholm sydney \
         tokyo toronto vancouver venice vienna warsaw washington zurich california texas florida \
         new_york new_jersey new_zealand new_delhi united_states united_kingdom hong_kong south_africa \
         los_angeles san_francisco saudi_arabia north_korea south_korea european_union silicon_valley",
    ),
    (
        BRAND,
        "google alphabet microsoft apple amazon meta facebook ibm intel nvidia amd tesla netflix samsung sony \
         toyota openai anthropic deepmind twitter oracle cisco adobe uber airbnb spotify alibaba tencent baidu \
         huawei siemens boeing airbus volkswagen bmw unilever nestlé nestle walmart disney reuters unesco \
         unicef nato who",
    ),
    (
        LOC_PREP,
        "in from near into throughout outside inside across within toward towards around",
    ),
    (
        ORG_VERB,
        "joined founded co-founded cofounded acquired leads led chairs",
    ),
    (
        CALENDAR,
        "january february march april may june july august september october november december monday \
         tuesday wednesday thursday friday saturday sunday",
    ),
    (
        DEMONYM,
        "polish french english german american british chinese japanese italian spanish russian indian \
         european african asian canadian australian mexican brazilian dutch swedish norwegian danish \
         finnish irish scottish welsh korean arab arabic israeli iranian turkish greek egyptian swiss \
         austrian belgian portuguese latin nigerian kenyan christian muslim jewish catholic protestant",
    ),
    (
        ABBR,
        "mr mrs ms dr prof st mt ft vs gen col lt sgt capt rev hon gov sen rep dept approx est fig al cf \
         ca",
    ),
    (SOFT_ABBR, "inc corp ltd co llc plc bros jr sr etc"),
];

static LEXICON: LazyLock<FastMap<String, u32>> = LazyLock::new(|| {
    let mut map = FastMap::default();
    for (flag, words) in LISTS {
        for w in words.split_whitespace() {
            *map.entry(w.replace('_', " ")).or_default() |= flag;
        }
    }
    map
});

/// The lexicon flags of a lowercase word (or lowercase multi-word place name).
fn class(lower: &str) -> u32 {
    LEXICON.get(lower).copied().unwrap_or(0)
}

fn is_stopword(lower: &str) -> bool {
    class(lower) & STOP != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{Message, SummaryKind};

    #[test]
    fn sentences_respect_abbreviations_and_blocks() {
        let text = "Dr. Smith met Mr. Jones in the U.S. on Monday. They talked, e.g. about J. K. Rowling! \
                    \"Fine,\" she said. Was it 3.5 hours? Yes.\n\n# Heading\n- item one\n- item two";
        assert_eq!(
            sentences(text),
            [
                "Dr. Smith met Mr. Jones in the U.S. on Monday.",
                "They talked, e.g. about J. K. Rowling!",
                "\"Fine,\" she said.",
                "Was it 3.5 hours?",
                "Yes.",
                "# Heading",
                "- item one",
                "- item two",
            ]
        );
        assert_eq!(
            sentences("a soft\nwrapped line. next one"),
            ["a soft\nwrapped line.", "next one"]
        );
        assert_eq!(
            sentences("Acme Inc. hired Ann Lee Jr. today, etc. and more. Acme Inc. Then"),
            ["Acme Inc. hired Ann Lee Jr. today, etc. and more.", "Acme Inc.", "Then"]
        );
    }

    #[test]
    fn a_wrapped_number_stays_in_its_sentence_and_roots_fold_forms() {
        assert_eq!(
            sentences("It has a rated output of\n1.5 megawatts and three blades\n3) a list item"),
            [
                "It has a rated output of\n1.5 megawatts and three blades",
                "3) a list item"
            ]
        );
        assert_eq!(root("buried"), root("bury"));
        assert_eq!(root("died"), root("die"));
        assert_eq!(root("left"), root("leave"));
        assert_eq!(root("founded"), root("found"));
        assert_eq!(p_threshold(), Some(COSINE_THRESHOLD));
    }

    fn p_threshold() -> Option<f32> {
        LocalProvider::new(8).default_cosine_threshold()
    }

    #[test]
    fn tokens_keep_inner_joiners() {
        let t: Vec<_> = tokens("Joliot-Curie's U.S. work, e.g. 3.14 -- x")
            .iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(t, ["Joliot-Curie's", "U.S.", "work", "e.g.", "3.14", "x"]);
        let gaps: Vec<_> = tokens("a b, c").iter().map(|t| t.gap).collect();
        assert_eq!(gaps, [false, false, true]);
    }

    #[test]
    fn pieces_cover_the_text_on_char_boundaries() {
        let text = "héllo wörld, ça va?";
        let p = pieces(text, 4);
        assert!(p.len() <= 4 && p.len() > 1);
        assert_eq!(p.concat(), text);
        assert!(pieces("", 4).is_empty());
    }

    fn request(task: Task) -> ChatRequest {
        ChatRequest {
            messages: vec![Message::user("ignored by the local provider")],
            task,
            json: false,
            temperature: None,
            max_tokens: None,
        }
    }

    #[tokio::test]
    async fn provider_answers_streams_and_embeds() {
        let p = LocalProvider::new(64);
        assert_eq!(p.dim(), 64);
        assert_eq!(p.identity().model, "lrt-hash-v2");
        assert_eq!(p.identity().binding, "local");

        let req = request(Task::Extract {
            text: "Alice Smith joined NASA in Houston.".into(),
        });
        let answer = p.chat(&req).await.unwrap();
        assert!(!answer.truncated);
        assert!(answer.text.ends_with(COMPLETE));
        let mut rx = p.chat_stream(&req).await.unwrap();
        let mut streamed = String::new();
        let mut n = 0;
        while let Some(piece) = rx.recv().await {
            streamed.push_str(&piece.unwrap());
            n += 1;
        }
        assert_eq!(streamed, answer.text);
        assert!(n > 1);

        let glean = request(Task::Glean {
            text: "Alice Smith joined NASA.".into(),
            previous: answer.text.clone(),
        });
        assert_eq!(p.chat(&glean).await.unwrap().text, COMPLETE);

        let summary = request(Task::Summarize {
            kind: SummaryKind::Entity,
            name: "NASA".into(),
            descriptions: vec!["NASA is an agency.".into()],
        });
        assert_eq!(p.chat(&summary).await.unwrap().text, "NASA is an agency.");

        let v = p.embed(&["a text".into(), String::new()]).await.unwrap();
        assert_eq!(v.len(), 2);
        assert!(v.iter().all(|v| v.len() == 64));
    }
}
