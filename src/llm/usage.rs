//! Token accounting of model calls. A [`TokenMeter`] is shared by the chat and embedding
//! providers of one engine; each remote call adds what the server's `usage` reports, or what
//! lrt's tokenizer counts when the server reports nothing. The service takes the meter's
//! counts after each query or ingest run and writes them to the catalog per tenant, KB and
//! month. Answers served from the LLM cache make no call, so they cost no tokens; the offline
//! `local` provider has no model server to bill and is not metered.

use std::sync::atomic::{AtomicU64, Ordering};

use super::Message;
use crate::rag::tokenizer::Tokenizer;

/// Tokens spent, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TokenCounts {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub embedding_tokens: u64,
}

impl std::ops::Add for TokenCounts {
    type Output = TokenCounts;
    fn add(self, other: TokenCounts) -> TokenCounts {
        TokenCounts {
            prompt_tokens: self.prompt_tokens + other.prompt_tokens,
            completion_tokens: self.completion_tokens + other.completion_tokens,
            embedding_tokens: self.embedding_tokens + other.embedding_tokens,
        }
    }
}

impl TokenCounts {
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens + self.embedding_tokens
    }

    pub fn is_zero(&self) -> bool {
        self.total() == 0
    }
}

/// Counters that providers add to from any thread; [`take`](TokenMeter::take) empties them.
#[derive(Debug, Default)]
pub struct TokenMeter {
    prompt: AtomicU64,
    completion: AtomicU64,
    embedding: AtomicU64,
}

impl TokenMeter {
    pub fn add(&self, counts: TokenCounts) {
        self.prompt.fetch_add(counts.prompt_tokens, Ordering::Relaxed);
        self.completion.fetch_add(counts.completion_tokens, Ordering::Relaxed);
        self.embedding.fetch_add(counts.embedding_tokens, Ordering::Relaxed);
    }

    /// The tokens counted since the last `take`, leaving zero behind.
    pub fn take(&self) -> TokenCounts {
        TokenCounts {
            prompt_tokens: self.prompt.swap(0, Ordering::Relaxed),
            completion_tokens: self.completion.swap(0, Ordering::Relaxed),
            embedding_tokens: self.embedding.swap(0, Ordering::Relaxed),
        }
    }
}

/// The prompt tokens of `messages` as lrt's tokenizer counts them (the contents only: the
/// few tokens a chat template adds per message vary by model and are not guessed).
pub fn count_prompt(messages: &[Message]) -> u64 {
    let tokenizer = Tokenizer::global();
    messages.iter().map(|m| tokenizer.count(&m.content) as u64).sum()
}

/// The tokens of `text` as lrt's tokenizer counts them.
pub fn count_text(text: &str) -> u64 {
    Tokenizer::global().count(text) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_empties_the_meter_and_prompts_are_counted_by_content() {
        let meter = TokenMeter::default();
        meter.add(TokenCounts {
            prompt_tokens: 3,
            completion_tokens: 2,
            embedding_tokens: 1,
        });
        meter.add(TokenCounts {
            prompt_tokens: 1,
            ..Default::default()
        });
        assert_eq!(meter.take().total(), 7);
        assert!(meter.take().is_zero());
        let messages = [Message::system("You are terse."), Message::user("hello world")];
        assert_eq!(
            count_prompt(&messages),
            count_text("You are terse.") + count_text("hello world")
        );
        assert_eq!(count_text("hello world"), 2);
    }
}
