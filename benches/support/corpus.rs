//! A deterministic generator of English prose for the benchmarks: news-like paragraphs about
//! people, organisations, places and projects, with a long tail of names (some recur across
//! documents, most are rare), so the graph grows the way it does on real text instead of
//! collapsing onto a handful of entities.

use std::path::Path;

/// xorshift64*: tiny, deterministic on every platform, good enough for picking words.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Roughly Zipf-distributed over `0..n`: small indexes are much more frequent.
    fn skewed(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64).powf(u) - 1.0) as usize % n
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.below(words.len())]
    }
}

const FIRST: &[&str] = &[
    "Amelia", "Bruno", "Chen", "Dalia", "Elias", "Farah", "Gustav", "Hana", "Ivan", "Jonas", "Keiko", "Lars", "Mira",
    "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zofia",
    "Aditi", "Bjorn", "Carmen", "Dmitri", "Esther", "Felix", "Greta", "Hugo", "Ines", "Jamal", "Kofi", "Lena",
];
const LAST: &[&str] = &[
    "Abara",
    "Berger",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hoffmann",
    "Ishikawa",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quispe",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Ulrich",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
    "Almeida",
    "Novak",
    "Horvat",
    "Costa",
];
const ORG_HEAD: &[&str] = &[
    "Northwind",
    "Bluefield",
    "Ironbridge",
    "Silverlake",
    "Redwood",
    "Clearwater",
    "Stonegate",
    "Brightpath",
    "Oakridge",
    "Highmoor",
    "Lakeshore",
    "Greenhill",
    "Suncrest",
    "Westbrook",
    "Eastgate",
    "Pinecrest",
    "Riverton",
    "Goldleaf",
];
const ORG_TAIL: &[&str] = &[
    "Labs",
    "Systems",
    "Institute",
    "Foundation",
    "Energy",
    "Robotics",
    "Analytics",
    "Biotech",
    "Logistics",
    "Works",
];
const CITIES: &[&str] = &[
    "Lisbon",
    "Nairobi",
    "Osaka",
    "Toronto",
    "Bergen",
    "Valparaiso",
    "Krakow",
    "Auckland",
    "Tallinn",
    "Porto",
    "Lagos",
    "Busan",
    "Montreal",
    "Seville",
    "Tbilisi",
    "Hanoi",
    "Zurich",
    "Denver",
    "Cusco",
    "Adelaide",
];
const PROJECT_HEAD: &[&str] = &[
    "Aurora", "Beacon", "Cascade", "Delta", "Ember", "Falcon", "Glacier", "Harbor", "Icarus", "Juniper", "Kestrel",
    "Lumen", "Meridian", "Nimbus", "Orion", "Polaris",
];
const TOPICS: &[&str] = &[
    "battery recycling",
    "flood forecasting",
    "soil sensors",
    "protein folding",
    "grid storage",
    "urban transit",
    "water purification",
    "satellite imaging",
    "crop genetics",
    "wind turbines",
    "medical imaging",
    "supply chains",
    "carbon capture",
    "language models",
    "coral restoration",
    "port automation",
];
const VERBS: &[&str] = &[
    "announced",
    "published",
    "presented",
    "funded",
    "tested",
    "expanded",
    "reviewed",
    "launched",
    "paused",
    "completed",
];
const ADJ: &[&str] = &[
    "ambitious",
    "modest",
    "experimental",
    "long-delayed",
    "promising",
    "controversial",
    "well-funded",
    "early",
];

struct Names {
    people: Vec<String>,
    orgs: Vec<String>,
    projects: Vec<String>,
}

impl Names {
    fn new() -> Names {
        let people = LAST
            .iter()
            .flat_map(|l| FIRST.iter().map(move |f| format!("{f} {l}")))
            .collect();
        let orgs = ORG_HEAD
            .iter()
            .flat_map(|h| ORG_TAIL.iter().map(move |t| format!("{h} {t}")))
            .collect();
        let projects = PROJECT_HEAD
            .iter()
            .flat_map(|h| (1..=12).map(move |n| format!("Project {h} {n}")))
            .collect();
        Names { people, orgs, projects }
    }
}

const NOUNS: &[&str] = &[
    "the prototype",
    "the second trial",
    "the budget",
    "the field data",
    "the new method",
    "the survey",
    "the pilot site",
    "the cost model",
    "the first batch",
    "the review panel",
    "the software",
    "the sensor network",
];
const FINDINGS: &[&str] = &[
    "held up better than expected",
    "needed another year of work",
    "was cheaper to run than the old process",
    "raised more questions than it answered",
    "worked only in dry weather",
    "doubled the output of the line",
    "was hard to explain to the public",
    "depended on a single supplier",
    "surprised even its designers",
];

/// A sentence without names: most of real prose is about what happened, not who.
fn filler(rng: &mut Rng) -> String {
    let topic = rng.pick(TOPICS);
    match rng.below(5) {
        0 => format!("Early reports said that {} {}.", rng.pick(NOUNS), rng.pick(FINDINGS)),
        1 => format!("Most of the work on {topic} at the time was slow, careful and poorly paid."),
        2 => format!(
            "By the end of the year {} {}, and {} {}.",
            rng.pick(NOUNS),
            rng.pick(FINDINGS),
            rng.pick(NOUNS),
            rng.pick(FINDINGS)
        ),
        3 => format!(
            "Nobody expected {topic} to matter this much, yet {} {}.",
            rng.pick(NOUNS),
            rng.pick(FINDINGS)
        ),
        _ => format!("The lesson, according to several engineers, was that {topic} rewards patience."),
    }
}

fn sentence(rng: &mut Rng, names: &Names) -> String {
    if rng.below(100) < 55 {
        return filler(rng);
    }
    let person = &names.people[rng.skewed(names.people.len())];
    let other = &names.people[rng.skewed(names.people.len())];
    let org = &names.orgs[rng.skewed(names.orgs.len())];
    let project = &names.projects[rng.skewed(names.projects.len())];
    let city = rng.pick(CITIES);
    let topic = rng.pick(TOPICS);
    let year = 1990 + rng.below(35);
    match rng.below(8) {
        0 => format!("{person} joined {org} in {city} in {year} to lead its work on {topic}."),
        1 => format!(
            "In {year}, {org} {} {project}, an {} effort on {topic}.",
            rng.pick(VERBS),
            rng.pick(ADJ)
        ),
        2 => format!(
            "{person} and {other} co-authored a study on {topic} that {org} later {}.",
            rng.pick(VERBS)
        ),
        3 => format!("{project} is based in {city}, where {org} runs a small laboratory for {topic}."),
        4 => format!(
            "Critics of {project} argued that its results on {topic} were {}.",
            rng.pick(ADJ)
        ),
        5 => format!(
            "{other} left {org} after the board {} the budget for {project}.",
            rng.pick(VERBS)
        ),
        6 => format!("The team in {city} measured how {topic} changed the costs reported by {org} in {year}."),
        _ => format!(
            "{person} described {project} as {} but necessary for progress in {topic}.",
            rng.pick(ADJ)
        ),
    }
}

/// Writes `doc000.md`, `doc001.md`, … of about 40 KB each into `dir` until `bytes` are written;
/// returns the number of documents and of bytes.
#[allow(dead_code)] // each benchmark uses one of the generators
pub fn write_corpus(dir: &Path, bytes: usize, seed: u64) -> (usize, usize) {
    std::fs::create_dir_all(dir).expect("corpus dir");
    let names = Names::new();
    let mut rng = Rng(seed.max(1));
    let (mut written, mut docs) = (0, 0);
    while written < bytes {
        let mut doc = format!("# Report {docs}\n\n");
        while doc.len() < 40_000 {
            let sentences = 3 + rng.below(5);
            let paragraph: Vec<String> = (0..sentences).map(|_| sentence(&mut rng, &names)).collect();
            doc.push_str(&paragraph.join(" "));
            doc.push_str("\n\n");
        }
        written += doc.len();
        std::fs::write(dir.join(format!("doc{docs:03}.md")), doc).expect("write corpus");
        docs += 1;
    }
    (docs, written)
}

/// `n` varied questions about the corpus written with the same `seed`: names drawn with the
/// corpus's own skew (so most are in the graph, a few are rare), themes, and questions that
/// mix both.
#[allow(dead_code)] // used by the query benchmark only
pub fn questions(n: usize, seed: u64) -> Vec<String> {
    let names = Names::new();
    let mut rng = Rng(seed.max(1) ^ 0x5eed);
    (0..n)
        .map(|i| {
            let person = &names.people[rng.skewed(names.people.len())];
            let org = &names.orgs[rng.skewed(names.orgs.len())];
            let project = &names.projects[rng.skewed(names.projects.len())];
            let city = rng.pick(CITIES);
            let topic = rng.pick(TOPICS);
            match i % 8 {
                0 => format!("What did {person} work on at {org}?"),
                1 => format!("Which projects did {org} run in {city}?"),
                2 => format!("What were the results of {project} on {topic}?"),
                3 => format!("How did research on {topic} progress over the years?"),
                4 => format!("Who worked on {topic} in {city}, and for which organisation?"),
                5 => format!("Why did critics doubt {project}?"),
                6 => format!("How are {person} and {org} connected to {project}?"),
                _ => format!("What do the reports say about costs and budgets in {topic}?"),
            }
        })
        .collect()
}

/// Writes `count` small documents (`doc0000.md`, …) of a few paragraphs each (about 1–2 KB,
/// one chunk), drawing on the same names, so many entities recur across documents.
#[allow(dead_code)] // each benchmark uses one of the generators
pub fn write_small_docs(dir: &Path, count: usize, seed: u64) -> usize {
    std::fs::create_dir_all(dir).expect("corpus dir");
    let names = Names::new();
    let mut rng = Rng(seed.max(1));
    let mut written = 0;
    for d in 0..count {
        let mut doc = format!("# Note {d}\n\n");
        while doc.len() < 1_200 {
            let sentences = 3 + rng.below(3);
            let paragraph: Vec<String> = (0..sentences).map(|_| sentence(&mut rng, &names)).collect();
            doc.push_str(&paragraph.join(" "));
            doc.push_str("\n\n");
        }
        written += doc.len();
        std::fs::write(dir.join(format!("doc{d:04}.md")), doc).expect("write corpus");
    }
    written
}
