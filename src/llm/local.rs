//! PLACEHOLDER being replaced in this change (a helper is implementing it).

use super::{ChatRequest, ChatResponse, LlmError, ModelIdentity, ModelProvider, TextStream};
#[allow(unused_imports)]
use super::ProviderConfig;

#[derive(Debug, Clone)]
pub struct LocalProvider {
    dim: usize,
}

impl LocalProvider {
    pub fn new(dim: usize) -> Self {
        LocalProvider { dim }
    }
}

impl ModelProvider for LocalProvider {
    async fn chat(&self, _req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        Err(LlmError::Config("not implemented yet".into()))
    }
    async fn chat_stream(&self, _req: &ChatRequest) -> Result<TextStream, LlmError> {
        Err(LlmError::Config("not implemented yet".into()))
    }
    async fn embed(&self, _texts: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        Err(LlmError::Config("not implemented yet".into()))
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn identity(&self) -> ModelIdentity {
        ModelIdentity { binding: "local".into(), model: String::new(), host: None }
    }
}
