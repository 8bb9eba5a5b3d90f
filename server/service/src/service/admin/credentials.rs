//! The credential vault: API keys sealed at rest, handed at run time only
//! to clients granted them, through the developer API's ObtainCredential.

use crate::entities::{client, credential, credential_grant, credential_provider, provider_grant};
use crate::error::{Result, ServiceError, conflict_on_unique};
use crate::service::admin::audit_log::{Change, snapshot, with_field};
use crate::service::{Writ, new_id};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use writ_core::credential_value::CredentialValue;
use writ_core::names::Description;
use writ_types::*;

pub(crate) fn view(m: credential::Model) -> CredentialView {
    CredentialView {
        id: m.id,
        identifier: m.identifier,
        name: m.name,
        description: m.description,
        business_type: stored_business_type(m.business_type),
        credential_type: m.credential_type,
        secure_storage: "Default Encrypted Credential".into(),
        enabled: m.enabled,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// The canonical name of a business type: `saas` (the alias clients sent
/// before the rename) is stored as `external_service`.
fn business_type(s: &str) -> Result<String> {
    BusinessType::parse(s.trim())
        .map(|b| b.as_str().to_owned())
        .ok_or_else(|| {
            ServiceError::Invalid(
                "business_type must be llm (Large Language Model) or external_service (External Service; saas is accepted as an alias)".into(),
            )
        })
}

/// Rows written before the rename hold `saas`: answered by the canonical name.
fn stored_business_type(s: String) -> String {
    BusinessType::parse(&s).map_or(s, |b| b.as_str().to_owned())
}

fn name(s: &str) -> Result<String> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 128 {
        return Err(ServiceError::Invalid(
            "Credential Name is required (at most 128 characters)".into(),
        ));
    }
    Ok(s.to_owned())
}

/// The value a new credential holds, by its type.
fn new_value(input: &NewCredential) -> Result<CredentialValue> {
    let given = |v: &Option<String>| v.as_deref().unwrap_or_default().to_owned();
    Ok(match input.credential_type.as_deref().map(str::trim) {
        None | Some("") | Some("api_key") => CredentialValue::api_key(&input.api_key)?,
        Some("ak_sk") => CredentialValue::access_key(
            &given(&input.access_key_id),
            &given(&input.access_key_secret),
        )?,
        Some(_) => {
            return Err(ServiceError::Invalid(
                "credential_type must be api_key or ak_sk".into(),
            ));
        }
    })
}

/// The API key ID: 1–128 of letters, digits, `_ - . :`.
fn identifier(s: &str) -> Result<String> {
    let s = s.trim();
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
    if !ok {
        return Err(ServiceError::Invalid(
            "API key ID must be 1-128 characters of letters, digits, '_', '-', '.' or ':'".into(),
        ));
    }
    Ok(s.to_owned())
}

impl Writ {
    fn seal_credential(&self, id: &str, value: &str) -> String {
        self.vault
            .seal(value.as_bytes(), &format!("credential:{id}"))
    }

    pub async fn create_credential(&self, input: NewCredential) -> Result<CredentialView> {
        let id = new_id();
        let identifier = identifier(&input.identifier)?;
        let value = new_value(&input)?;
        let tx = self.db.begin().await?;
        let m = credential::ActiveModel {
            identifier: Set(identifier.clone()),
            name: Set(name(&input.name)?),
            description: Set(
                Description::parse(input.description.as_deref().unwrap_or_default())?.into_inner(),
            ),
            business_type: Set(business_type(&input.business_type)?),
            credential_type: Set(value.kind().into()),
            sealed_value: Set(self.seal_credential(&id, &value.to_plaintext())),
            enabled: Set(true),
            created_at: Set(self.now()),
            updated_at: Set(self.now()),
            id: Set(id),
        }
        .insert(&tx)
        .await
        .map_err(|e| {
            conflict_on_unique(
                e,
                format!("a credential with API key ID '{identifier}' already exists"),
            )
        })?;
        let v = view(m);
        self.record_change(
            &tx,
            Change::new("credential", "create", &v.id).after(snapshot(&v)),
        )
        .await?;
        tx.commit().await?;
        Ok(v)
    }

    pub async fn list_credentials(&self) -> Result<Vec<CredentialView>> {
        Ok(credential::Entity::find()
            .order_by_asc(credential::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    async fn credential_model(&self, id: &str) -> Result<credential::Model> {
        credential::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .ok_or(ServiceError::NotFound("credential"))
    }

    pub async fn get_credential(&self, id: &str) -> Result<CredentialView> {
        Ok(view(self.credential_model(id).await?))
    }

    pub async fn update_credential(
        &self,
        id: &str,
        input: CredentialUpdate,
    ) -> Result<CredentialView> {
        let m = self.credential_model(id).await?;
        let change = Change::new("credential", "update", &m.id).before(snapshot(&view(m.clone())));
        let mut am: credential::ActiveModel = m.clone().into();
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        if let Some(n) = given(&input.name) {
            am.name = Set(name(&n)?);
        }
        if let Some(d) = input.description.as_deref() {
            am.description = Set(Description::parse(d)?.into_inner());
        }
        if let Some(b) = given(&input.business_type) {
            am.business_type = Set(business_type(&b)?);
        }
        // Blank or omitted keeps the stored value; a value replaces it.
        let replacement = match m.credential_type.as_str() {
            "ak_sk" => match (given(&input.access_key_id), given(&input.access_key_secret)) {
                (None, None) => None,
                (Some(id), Some(secret)) => Some(CredentialValue::access_key(&id, &secret)?),
                _ => {
                    return Err(ServiceError::Invalid(
                        "give both access_key_id and access_key_secret to replace the pair".into(),
                    ));
                }
            },
            _ => given(&input.api_key)
                .map(|k| CredentialValue::api_key(&k))
                .transpose()?,
        };
        let replaced = replacement.is_some();
        if let Some(v) = replacement {
            am.sealed_value = Set(self.seal_credential(&m.id, &v.to_plaintext()));
        }
        am.updated_at = Set(self.now());
        let tx = self.db.begin().await?;
        let v = view(am.update(&tx).await?);
        // The value itself is never recorded: only that it was replaced.
        let after = with_field(snapshot(&v), "value_replaced", replaced);
        self.record_change(&tx, change.after(after)).await?;
        tx.commit().await?;
        Ok(v)
    }

    pub async fn set_credential_enabled(&self, id: &str, enabled: bool) -> Result<CredentialView> {
        let m = self.credential_model(id).await?;
        Ok(view(
            self.set_enabled::<credential::Entity>(m, enabled).await?,
        ))
    }

    pub async fn delete_credential(&self, id: &str) -> Result<()> {
        let m = self.credential_model(id).await?;
        self.delete_disabled::<credential::Entity>(m).await
    }

    /// Lets a client (by OAuth `client_id`) obtain the credential.
    pub async fn grant_credential(
        &self,
        credential_id: &str,
        client_id: &str,
    ) -> Result<CredentialGrantView> {
        let cred = self.credential_model(credential_id).await?;
        let c = self.client_by_client_id(client_id).await?;
        let tx = self.db.begin().await?;
        let m = credential_grant::ActiveModel {
            id: Set(new_id()),
            credential_id: Set(cred.id),
            client_pk: Set(c.id.clone()),
            created_at: Set(self.now()),
        }
        .insert(&tx)
        .await
        .map_err(|e| {
            conflict_on_unique(
                e,
                format!("'{}' already holds this credential", c.client_id),
            )
        })?;
        let v = CredentialGrantView {
            id: m.id,
            credential_id: m.credential_id,
            client_pk: c.id,
            client_id: c.client_id,
            client_name: c.name,
            created_at: m.created_at,
        };
        self.record_change(
            &tx,
            Change::new("credential_grant", "create", &v.id).after(snapshot(&v)),
        )
        .await?;
        tx.commit().await?;
        Ok(v)
    }

    /// The credentials a client may obtain (the flowchart's LLM and
    /// External Service nodes).
    pub async fn credentials_of_client(&self, client_pk: &str) -> Result<Vec<CredentialView>> {
        let ids: Vec<String> = credential_grant::Entity::find()
            .filter(credential_grant::Column::ClientPk.eq(client_pk))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|g| g.credential_id)
            .collect();
        Ok(credential::Entity::find()
            .filter(credential::Column::Id.is_in(ids))
            .order_by_asc(credential::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    pub async fn list_credential_grants(
        &self,
        credential_id: &str,
    ) -> Result<Vec<CredentialGrantView>> {
        self.credential_model(credential_id).await?;
        let grants = credential_grant::Entity::find()
            .filter(credential_grant::Column::CredentialId.eq(credential_id))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|g| (g.id, g.credential_id, g.client_pk, g.created_at))
            .collect();
        self.grant_views(grants).await
    }

    /// Grants as the console and API show them, with each grantee's
    /// `client_id` and name: (grant id, credential or provider id, client
    /// pk, created at). Grants of since-deleted clients are left out.
    pub(crate) async fn grant_views(
        &self,
        grants: Vec<(String, String, String, i64)>,
    ) -> Result<Vec<CredentialGrantView>> {
        let mut out = Vec::new();
        for (id, owner, client_pk, created_at) in grants {
            if let Some(c) = client::Entity::find_by_id(client_pk).one(&self.db).await? {
                out.push(CredentialGrantView {
                    id,
                    credential_id: owner,
                    client_pk: c.id,
                    client_id: c.client_id,
                    client_name: c.name,
                    created_at,
                });
            }
        }
        Ok(out)
    }

    /// Every vault credential and credential provider the client may use,
    /// with the grant that allows it (the client page's "May reach" list).
    pub async fn asset_grants_of_client(
        &self,
        client_pk: &str,
    ) -> Result<Vec<ClientAssetGrantView>> {
        self.client_model(client_pk).await?;
        // No ORM relations are declared: the names come from a second query.
        let creds = credential_grant::Entity::find()
            .filter(credential_grant::Column::ClientPk.eq(client_pk))
            .all(&self.db)
            .await?;
        let names: std::collections::HashMap<String, String> = credential::Entity::find()
            .filter(credential::Column::Id.is_in(creds.iter().map(|g| g.credential_id.clone())))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        let mut out: Vec<ClientAssetGrantView> = creds
            .into_iter()
            .filter_map(|g| {
                Some(ClientAssetGrantView {
                    target_name: names.get(&g.credential_id)?.clone(),
                    grant_id: g.id,
                    kind: "credential".into(),
                    target_id: g.credential_id,
                    created_at: g.created_at,
                })
            })
            .collect();
        let grants = provider_grant::Entity::find()
            .filter(provider_grant::Column::ClientPk.eq(client_pk))
            .all(&self.db)
            .await?;
        let names: std::collections::HashMap<String, String> = credential_provider::Entity::find()
            .filter(
                credential_provider::Column::Id.is_in(grants.iter().map(|g| g.provider_id.clone())),
            )
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect();
        out.extend(grants.into_iter().filter_map(|g| {
            Some(ClientAssetGrantView {
                target_name: names.get(&g.provider_id)?.clone(),
                grant_id: g.id,
                kind: "credential_provider".into(),
                target_id: g.provider_id,
                created_at: g.created_at,
            })
        }));
        Ok(out)
    }

    pub async fn revoke_credential_grant(&self, credential_id: &str, grant_id: &str) -> Result<()> {
        let found = credential_grant::Entity::find_by_id(grant_id.to_owned())
            .filter(credential_grant::Column::CredentialId.eq(credential_id))
            .one(&self.db)
            .await?
            .ok_or(ServiceError::NotFound("grant"))?;
        let tx = self.db.begin().await?;
        let r = credential_grant::Entity::delete_many()
            .filter(credential_grant::Column::CredentialId.eq(credential_id))
            .filter(credential_grant::Column::Id.eq(grant_id))
            .exec(&tx)
            .await?;
        if r.rows_affected == 0 {
            return Err(ServiceError::NotFound("grant"));
        }
        let before = serde_json::json!({
            "id": found.id,
            "credential_id": found.credential_id,
            "client_pk": found.client_pk,
            "created_at": found.created_at,
        });
        self.record_change(
            &tx,
            Change::new("credential_grant", "delete", grant_id).before(before),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
