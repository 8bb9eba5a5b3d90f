//! What an audit record of a token request holds. Never a secret.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Issued,
    Refused,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Issued => "issued",
            Self::Refused => "refused",
        }
    }
}

#[derive(Debug, Clone)]
pub struct TokenAudit {
    pub at: i64,
    /// As presented (it may not exist); capped in length by the writer.
    pub client_id: String,
    pub method: String,
    pub audience: String,
    pub scope: String,
    pub jti: String,
    pub outcome: Outcome,
    pub reason: String,
    pub source: String,
    /// The credential that authenticated the request: its `last used` moves.
    pub credential: Option<CredentialRef>,
    /// Token exchange: the person and the agents acting for them, as JSON
    /// (`token_exchange::audit_record`); `None` for other grants.
    pub delegation: Option<String>,
}

/// Which stored credential authenticated a client, by kind and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialRef {
    ClientSecret(String),
    PublicKey(String),
    Federated(String),
}
