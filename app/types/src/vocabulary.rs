//! Writ's vocabulary: the kinds and modes that the console, the service
//! layer and core all name. One enum each, spelled on the wire as before.

use serde::{Deserialize, Serialize};

/// The kind of a federated credential provider, and of the federated
/// credentials attached through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// A JWT signed by a client certificate chaining to a private CA.
    Pca,
    /// An OIDC ID token (Kubernetes, GitHub Actions, cloud VM).
    Oidc,
    /// A signed instance-identity document (AWS EC2, Alibaba ECS).
    Pkcs7,
}

impl ProviderKind {
    pub const ALL: [Self; 3] = [Self::Pca, Self::Oidc, Self::Pkcs7];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pca => "pca",
            Self::Oidc => "oidc",
            Self::Pkcs7 => "pkcs7",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// How the console names the kind.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pca => "PCA",
            Self::Oidc => "OIDC",
            Self::Pkcs7 => "PKCS#7",
        }
    }

    /// The verification modes a credential of this kind may use, the
    /// console's default first.
    pub fn modes(self) -> &'static [VerificationMode] {
        use VerificationMode::*;
        match self {
            Self::Pca => &[Certificate, Expression],
            Self::Oidc => &[Kubernetes, PrincipalId, Expression],
            Self::Pkcs7 => &[CloudServer, Expression],
        }
    }

    pub fn allows(self, mode: VerificationMode) -> bool {
        self.modes().contains(&mode)
    }
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a federated credential's verification is written: a simple mode
/// (one field, standing for a generated expression) or an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationMode {
    /// OIDC: a Kubernetes service account (namespace and name, optionally its UID).
    Kubernetes,
    /// OIDC: the token's `sub`.
    PrincipalId,
    /// PCA: the client certificate's subject CN.
    Certificate,
    /// PKCS#7: the instance ID in the signed document.
    CloudServer,
    /// Any expression over the credential type's fields.
    Expression,
}

impl VerificationMode {
    pub const ALL: [Self; 5] = [
        Self::Kubernetes,
        Self::PrincipalId,
        Self::Certificate,
        Self::CloudServer,
        Self::Expression,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kubernetes => "kubernetes",
            Self::PrincipalId => "principal_id",
            Self::Certificate => "certificate",
            Self::CloudServer => "cloud_server",
            Self::Expression => "expression",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// How the console names the mode.
    pub fn label(self) -> &'static str {
        match self {
            Self::Kubernetes => "Kubernetes",
            Self::PrincipalId => "Principal ID",
            Self::Certificate => "Certificate CN",
            Self::CloudServer => "Instance ID",
            Self::Expression => "Expression",
        }
    }

    /// A simple mode stands for an expression generated from its field(s).
    pub fn is_simple(self) -> bool {
        self != Self::Expression
    }
}

impl std::fmt::Display for VerificationMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a simple mode's expression is generated from. Each mode reads its
/// own fields and ignores the others; values are used as given (the caller
/// trims them).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SimpleModeFields<'a> {
    /// Kubernetes: the service account's namespace.
    pub namespace: &'a str,
    /// Kubernetes: the service account's name.
    pub service_account: &'a str,
    /// Kubernetes: the service account's UID, when pinned (`None`: not
    /// pinned). Principal ID: the `sub` (`None` reads as empty).
    pub principal_id: Option<&'a str>,
    /// Certificate: the subject CN.
    pub cn: &'a str,
    /// Cloud server: the instance ID.
    pub instance_id: &'a str,
    /// Cloud server: the document field that holds it (`instanceId` on AWS,
    /// `instance-id` on Alibaba); quoted in the path when it has a `-`.
    pub instance_field: &'a str,
}

/// A single-quoted expression string literal.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The expression a simple verification mode stands for: what the server
/// stores and shows, and what the console previews. Empty for
/// [`VerificationMode::Expression`], which is its own text.
pub fn simple_mode_expression(mode: VerificationMode, f: &SimpleModeFields<'_>) -> String {
    match mode {
        VerificationMode::Kubernetes => {
            let sub = format!(
                "jwt.claims.sub == {}",
                quote(&format!(
                    "system:serviceaccount:{}:{}",
                    f.namespace, f.service_account
                ))
            );
            match f.principal_id {
                None => sub,
                Some(p) => format!(
                    "{sub} && jwt.claims.'kubernetes.io'.serviceaccount.uid == {}",
                    quote(p)
                ),
            }
        }
        VerificationMode::PrincipalId => {
            format!(
                "jwt.claims.sub == {}",
                quote(f.principal_id.unwrap_or_default())
            )
        }
        VerificationMode::Certificate => format!("cert.subject.CN == {}", quote(f.cn)),
        VerificationMode::CloudServer => {
            let field = f.instance_field;
            let path = if field.contains('-') {
                format!("pkcs7.payload.jsonData.'{field}'")
            } else {
                format!("pkcs7.payload.jsonData.{field}")
            };
            format!("{path} == {}", quote(f.instance_id))
        }
        VerificationMode::Expression => String::new(),
    }
}

/// What a vault credential is for (its "Business Type"). The vault issue
/// pinned the wire names `llm` and `external_service`; `saas`, the name
/// Writ used for the latter at first, is still accepted as an alias, so
/// clients that send it keep working. What is stored and answered is always
/// the canonical name ([`Self::as_str`]); the developer API keeps answering
/// its own `credentialScenarioLabel` ([`Self::scenario_label`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BusinessType {
    /// A large language model's API key.
    Llm,
    /// Any other service's API key.
    ExternalService,
}

impl BusinessType {
    pub const ALL: [Self; 2] = [Self::Llm, Self::ExternalService];

    /// The canonical wire name: what the admin API stores and answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Llm => "llm",
            Self::ExternalService => "external_service",
        }
    }

    /// A wire name, or the legacy alias `saas` (also what rows written
    /// before the rename hold).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "saas" => Some(Self::ExternalService),
            _ => Self::ALL.into_iter().find(|b| b.as_str() == s),
        }
    }

    /// The developer API's `credentialScenarioLabel`: `llm` or `saas`, as
    /// the PAM client has always been answered.
    pub fn scenario_label(self) -> &'static str {
        match self {
            Self::Llm => "llm",
            Self::ExternalService => "saas",
        }
    }

    /// How the console names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Llm => "LLM",
            Self::ExternalService => "External service",
        }
    }
}

impl std::fmt::Display for BusinessType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a resource stands in the lifecycle every admin resource shares:
/// enabled, or disabled (and only then deletable). Stored and sent as the
/// `enabled` flag; this is how the console names and shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LifecycleState {
    Enabled,
    Disabled,
}

impl LifecycleState {
    pub fn of(enabled: bool) -> Self {
        if enabled {
            Self::Enabled
        } else {
            Self::Disabled
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::Enabled => "Enabled",
            Self::Disabled => "Disabled",
        }
    }
    /// The console's status badge.
    pub fn css_class(self) -> &'static str {
        match self {
            Self::Enabled => "status on",
            Self::Disabled => "status off",
        }
    }
    /// What the status switch offers from here.
    pub fn toggle_label(self) -> &'static str {
        match self {
            Self::Enabled => "Disable",
            Self::Disabled => "Enable",
        }
    }
    /// Only a disabled resource may be deleted.
    pub fn deletable(self) -> bool {
        self == Self::Disabled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_kinds_round_trip_as_their_wire_names() {
        for k in ProviderKind::ALL {
            assert_eq!(ProviderKind::parse(k.as_str()), Some(k));
            assert_eq!(
                serde_json::to_value(k).unwrap_or_default(),
                serde_json::Value::String(k.as_str().into())
            );
        }
        assert_eq!(ProviderKind::parse("OIDC"), None);
    }

    #[test]
    fn verification_modes_round_trip_and_belong_to_kinds() {
        for m in VerificationMode::ALL {
            assert_eq!(VerificationMode::parse(m.as_str()), Some(m));
            assert_eq!(
                serde_json::to_value(m).unwrap_or_default(),
                serde_json::Value::String(m.as_str().into())
            );
            // Every mode belongs to some kind; expression to all of them.
            assert!(ProviderKind::ALL.into_iter().any(|k| k.allows(m)));
        }
        assert!(
            ProviderKind::ALL
                .into_iter()
                .all(|k| k.allows(VerificationMode::Expression) && k.modes()[0].is_simple())
        );
        assert_eq!(VerificationMode::parse("Kubernetes"), None);
        assert!(!ProviderKind::Pca.allows(VerificationMode::Kubernetes));
    }

    #[test]
    fn simple_mode_expressions_are_pinned() {
        let f = SimpleModeFields {
            namespace: "payments",
            service_account: "billing-bot",
            principal_id: None,
            cn: "o'brien\\agent",
            instance_id: "i-bp1",
            instance_field: "instance-id",
        };
        let text = |mode, f: &SimpleModeFields<'_>| simple_mode_expression(mode, f);
        assert_eq!(
            text(VerificationMode::Kubernetes, &f),
            "jwt.claims.sub == 'system:serviceaccount:payments:billing-bot'"
        );
        let pinned = SimpleModeFields {
            principal_id: Some("7f3e"),
            ..f
        };
        assert_eq!(
            text(VerificationMode::Kubernetes, &pinned),
            "jwt.claims.sub == 'system:serviceaccount:payments:billing-bot' && jwt.claims.'kubernetes.io'.serviceaccount.uid == '7f3e'"
        );
        assert_eq!(
            text(VerificationMode::PrincipalId, &pinned),
            "jwt.claims.sub == '7f3e'"
        );
        assert_eq!(
            text(VerificationMode::PrincipalId, &f),
            "jwt.claims.sub == ''"
        );
        // Quotes and backslashes are escaped.
        assert_eq!(
            text(VerificationMode::Certificate, &f),
            "cert.subject.CN == 'o\\'brien\\\\agent'"
        );
        assert_eq!(
            text(VerificationMode::CloudServer, &f),
            "pkcs7.payload.jsonData.'instance-id' == 'i-bp1'"
        );
        let aws = SimpleModeFields {
            instance_field: "instanceId",
            ..f
        };
        assert_eq!(
            text(VerificationMode::CloudServer, &aws),
            "pkcs7.payload.jsonData.instanceId == 'i-bp1'"
        );
        assert_eq!(text(VerificationMode::Expression, &f), "");
    }

    #[test]
    fn business_types_round_trip_and_saas_is_an_alias() {
        for b in BusinessType::ALL {
            assert_eq!(BusinessType::parse(b.as_str()), Some(b));
        }
        assert_eq!(
            BusinessType::parse("saas"),
            Some(BusinessType::ExternalService)
        );
        assert_eq!(BusinessType::ExternalService.as_str(), "external_service");
        assert_eq!(BusinessType::ExternalService.scenario_label(), "saas");
        assert_eq!(BusinessType::Llm.scenario_label(), "llm");
        assert_eq!(BusinessType::parse("LLM"), None);
        assert_eq!(BusinessType::parse("bogus"), None);
    }

    #[test]
    fn lifecycle_state_says_what_the_console_shows() {
        let on = LifecycleState::of(true);
        assert_eq!(
            (on.label(), on.css_class(), on.toggle_label()),
            ("Enabled", "status on", "Disable")
        );
        assert!(!on.deletable());
        let off = LifecycleState::of(false);
        assert_eq!(
            (off.label(), off.css_class(), off.toggle_label()),
            ("Disabled", "status off", "Enable")
        );
        assert!(off.deletable());
    }
}
