//! The `client-config.json` the official IDaaS SDKs read (protocol doc §1).

use serde::Serialize;

pub const DEFAULT_SECRET_ENV: &str = "IDAAS_CLIENT_SECRET";
pub const DEFAULT_PRIVATE_KEY_ENV: &str = "IDAAS_PRIVATE_KEY";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdkAuthnMethod {
    ClientSecretPost,
    ClientSecretBasic,
    /// HMAC assertion keyed with the secret (the secret must allow it).
    ClientSecretJwt,
    PrivateKeyJwt,
}

impl SdkAuthnMethod {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "CLIENT_SECRET_POST" => Some(Self::ClientSecretPost),
            "CLIENT_SECRET_BASIC" => Some(Self::ClientSecretBasic),
            "CLIENT_SECRET_JWT" => Some(Self::ClientSecretJwt),
            "PRIVATE_KEY_JWT" => Some(Self::PrivateKeyJwt),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretPost => "CLIENT_SECRET_POST",
            Self::ClientSecretBasic => "CLIENT_SECRET_BASIC",
            Self::ClientSecretJwt => "CLIENT_SECRET_JWT",
            Self::PrivateKeyJwt => "PRIVATE_KEY_JWT",
        }
    }
    pub const ALL: [Self; 4] = [
        Self::ClientSecretPost,
        Self::ClientSecretBasic,
        Self::ClientSecretJwt,
        Self::PrivateKeyJwt,
    ];

    /// The environment variable the SDK reads the credential from, by default.
    pub fn default_env_var(self) -> &'static str {
        match self {
            Self::PrivateKeyJwt => DEFAULT_PRIVATE_KEY_ENV,
            _ => DEFAULT_SECRET_ENV,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AuthnConfiguration {
    pub identity_type: String,
    pub authn_method: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_env_var_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_key_env_var_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_federated_credential_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_deploy_environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_token_file_path: Option<String>,
    /// OIDC: the environment variable holding the token file's path (the
    /// SDK reads it when `oidcTokenFilePath` is absent; ACK RRSA sets
    /// `ALIBABA_CLOUD_OIDC_TOKEN_FILE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_token_file_path_env_var_name: Option<String>,
    /// PCA: the client certificate, as a literal PEM string (not a path).
    #[serde(
        rename = "clientX509Certificate",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_x509_certificate: Option<String>,
    /// PCA: the intermediate chain, concatenated PEM.
    #[serde(rename = "x509CertChains", skip_serializing_if = "Option::is_none")]
    pub x509_cert_chains: Option<String>,
}

impl AuthnConfiguration {
    /// A secret or private-key method; the credential comes from `env_var`.
    pub fn for_method(method: SdkAuthnMethod, env_var: &str) -> Self {
        let pk = method == SdkAuthnMethod::PrivateKeyJwt;
        Self {
            identity_type: "CLIENT".into(),
            authn_method: method.as_str().into(),
            client_secret_env_var_name: (!pk).then(|| env_var.to_owned()),
            private_key_env_var_name: pk.then(|| env_var.to_owned()),
            application_federated_credential_name: None,
            client_deploy_environment: None,
            oidc_token_file_path: None,
            oidc_token_file_path_env_var_name: None,
            client_x509_certificate: None,
            x509_cert_chains: None,
        }
    }

    /// PCA: the certificate and chain are literal PEM in the file; the leaf's
    /// private key comes from `private_key_env`.
    pub fn pca(
        federated_credential_name: &str,
        certificate: &str,
        chain: &str,
        private_key_env: &str,
    ) -> Self {
        Self {
            authn_method: "PCA".into(),
            application_federated_credential_name: Some(federated_credential_name.to_owned()),
            client_x509_certificate: Some(certificate.to_owned()),
            x509_cert_chains: Some(chain.to_owned()),
            private_key_env_var_name: Some(private_key_env.to_owned()),
            client_secret_env_var_name: None,
            ..Self::for_method(SdkAuthnMethod::PrivateKeyJwt, private_key_env)
        }
    }

    /// PKCS#7 on the provider's cloud: `ALIBABA_CLOUD_ECS` or `AWS_EC2`, the
    /// SDK's names for the instance-metadata service it fetches the signed
    /// document from. (The Python SDK fetches only on ECS today; the AWS
    /// name is still the right one for SDKs that do, and no hand edit is
    /// needed when it does.)
    pub fn pkcs7(
        federated_credential_name: &str,
        cloud: crate::federation::pkcs7::TrustSource,
    ) -> Self {
        use crate::federation::pkcs7::TrustSource;
        let environment = match cloud {
            TrustSource::AlibabaCloudEcs => "ALIBABA_CLOUD_ECS",
            TrustSource::AwsEc2 => "AWS_EC2",
        };
        Self {
            authn_method: "PKCS7".into(),
            application_federated_credential_name: Some(federated_credential_name.to_owned()),
            client_deploy_environment: Some(environment.into()),
            private_key_env_var_name: None,
            ..Self::for_method(SdkAuthnMethod::PrivateKeyJwt, "")
        }
    }

    /// OIDC federation from a Kubernetes service-account token file (the
    /// SDK's only working OIDC environment): a path, or an environment
    /// variable naming one (ACK RRSA); neither means the SDK default.
    pub fn kubernetes_oidc(
        federated_credential_name: &str,
        token_file: Option<&str>,
        token_file_env_var: Option<&str>,
    ) -> Self {
        Self {
            identity_type: "CLIENT".into(),
            authn_method: "OIDC".into(),
            client_secret_env_var_name: None,
            private_key_env_var_name: None,
            application_federated_credential_name: Some(federated_credential_name.to_owned()),
            client_deploy_environment: Some("KUBERNETES".into()),
            oidc_token_file_path: token_file.map(str::to_owned),
            oidc_token_file_path_env_var_name: token_file_env_var.map(str::to_owned),
            client_x509_certificate: None,
            x509_cert_chains: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ClientConfig {
    pub idaas_instance_id: String,
    pub client_id: String,
    pub issuer: String,
    pub token_endpoint: String,
    pub scope: String,
    pub developer_api_endpoint: String,
    pub authn_configuration: AuthnConfiguration,
}

/// `host[:port]` of the public URL: the SDK prefixes `https://` itself and
/// breaks on a path (the endpoint becomes the Host header).
pub fn developer_api_endpoint(public_url: &str) -> String {
    let rest = public_url.split_once("://").map_or(public_url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

pub fn build(
    instance_id: &str,
    client_id: &str,
    urls: &crate::discovery::IssuerUrls,
    public_url: &str,
    scope: &str,
    authn_configuration: AuthnConfiguration,
) -> ClientConfig {
    ClientConfig {
        idaas_instance_id: instance_id.to_owned(),
        client_id: client_id.to_owned(),
        issuer: urls.issuer.clone(),
        token_endpoint: urls.token_endpoint.clone(),
        scope: scope.to_owned(),
        developer_api_endpoint: developer_api_endpoint(public_url),
        authn_configuration,
    }
}

/// Environment variable names the SDK can read: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn valid_env_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 128
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::IssuerUrls;

    #[test]
    fn config_has_the_sdk_keys() {
        let urls = IssuerUrls::new("https://localhost:8443");
        let c = build(
            "idaas_x",
            "app_1",
            &urls,
            "https://localhost:8443",
            crate::PAM_ALL_SCOPE,
            AuthnConfiguration::for_method(SdkAuthnMethod::ClientSecretBasic, DEFAULT_SECRET_ENV),
        );
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["idaasInstanceId"], "idaas_x");
        assert_eq!(v["developerApiEndpoint"], "localhost:8443");
        assert_eq!(v["tokenEndpoint"], urls.token_endpoint.as_str());
        assert_eq!(
            v["authnConfiguration"]["authnMethod"],
            "CLIENT_SECRET_BASIC"
        );
        assert_eq!(
            v["authnConfiguration"]["clientSecretEnvVarName"],
            "IDAAS_CLIENT_SECRET"
        );
        assert_eq!(v["authnConfiguration"]["identityType"], "CLIENT");
    }

    #[test]
    fn kubernetes_oidc_config() {
        let urls = IssuerUrls::new("https://h");
        let with_file = AuthnConfiguration::kubernetes_oidc("k8s", Some("/var/run/token"), None);
        let v =
            serde_json::to_value(build("i", "c", &urls, "https://h", "a|b", with_file)).unwrap();
        let a = &v["authnConfiguration"];
        assert_eq!(a["authnMethod"], "OIDC");
        assert_eq!(a["applicationFederatedCredentialName"], "k8s");
        assert_eq!(a["clientDeployEnvironment"], "KUBERNETES");
        assert_eq!(a["oidcTokenFilePath"], "/var/run/token");
        assert!(a.get("clientSecretEnvVarName").is_none());
        let v =
            serde_json::to_value(AuthnConfiguration::kubernetes_oidc("k8s", None, None)).unwrap();
        assert!(
            v.get("oidcTokenFilePath").is_none() && v.get("oidcTokenFilePathEnvVarName").is_none(),
            "the SDK default path applies"
        );
        // ACK RRSA: the SDK reads the path from this variable at start.
        let v = serde_json::to_value(AuthnConfiguration::kubernetes_oidc(
            "rrsa",
            None,
            Some("ALIBABA_CLOUD_OIDC_TOKEN_FILE"),
        ))
        .unwrap();
        assert_eq!(
            v["oidcTokenFilePathEnvVarName"],
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE"
        );
    }

    #[test]
    fn endpoint_and_env_names() {
        assert_eq!(
            developer_api_endpoint("https://writ.example.com/"),
            "writ.example.com"
        );
        assert_eq!(
            developer_api_endpoint("https://127.0.0.1:9443/x"),
            "127.0.0.1:9443"
        );
        assert!(valid_env_var_name("IDAAS_CLIENT_SECRET"));
        assert!(!valid_env_var_name("1ABC"));
        assert!(!valid_env_var_name("A-B"));
        assert_eq!(
            SdkAuthnMethod::parse("CLIENT_SECRET_POST"),
            Some(SdkAuthnMethod::ClientSecretPost)
        );
        assert_eq!(SdkAuthnMethod::parse("PCA"), None);
        let urls = IssuerUrls::new("https://h");
        let v = serde_json::to_value(build(
            "i",
            "c",
            &urls,
            "https://h",
            "a|b",
            AuthnConfiguration::for_method(SdkAuthnMethod::PrivateKeyJwt, DEFAULT_PRIVATE_KEY_ENV),
        ))
        .unwrap();
        assert_eq!(
            v["authnConfiguration"]["privateKeyEnvVarName"],
            "IDAAS_PRIVATE_KEY"
        );
        assert!(
            v["authnConfiguration"]
                .get("clientSecretEnvVarName")
                .is_none()
        );
    }
}
