//! Resource servers (audiences with permissions) and permission grants.

use crate::entities::{client, permission_grant, resource_server};
use crate::error::{Result, ServiceError, conflict_on_unique};
use crate::service::admin::audit_log::{Change, snapshot};
use crate::service::{Writ, json_list, new_id};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use writ_core::federation::expr::{Domain, Expression, Produces};
use writ_core::grant::token_exchange::{DEFAULT_MAX_CHAIN_DEPTH, MAX_CHAIN_DEPTH_LIMIT};
use writ_core::names::{self, Audience, DisplayName, Permission};
use writ_types::{
    DelegationInput, DelegationView, GrantView, NewGrant, NewResourceServer, ResourceServerUpdate,
    ResourceServerView,
};

fn to_json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// A permission grant as the admin change log keeps it.
fn grant_snapshot(g: &permission_grant::Model) -> serde_json::Value {
    serde_json::json!({
        "id": g.id,
        "resource_server_id": g.resource_server_id,
        "client_pk": g.client_pk,
        "permissions": json_list(&g.permissions),
        "created_at": g.created_at,
    })
}

pub(crate) fn view(m: resource_server::Model) -> ResourceServerView {
    ResourceServerView {
        permissions: json_list(&m.permissions),
        id: m.id,
        name: m.name,
        audience: m.audience,
        access_token_ttl_seconds: m.token_ttl_secs,
        custom_subject: m.custom_subject,
        builtin: m.builtin,
        created_at: m.created_at,
        enabled: m.enabled,
        delegation: DelegationView {
            enabled: m.delegation_enabled,
            permissions_expression: m.delegation_permissions_expression,
            max_chain_depth: m.delegation_max_chain_depth,
        },
    }
}

/// A resource server's delegation policy after `input` over `current`,
/// checked: the expression compiles (a list of strings over
/// `jwt.claims.*`; an error names its line and column) and is required
/// to enable delegation; the depth is 1 to [`MAX_CHAIN_DEPTH_LIMIT`].
fn delegation_policy(current: DelegationView, input: &DelegationInput) -> Result<DelegationView> {
    let expression = match &input.permissions_expression {
        Some(src) => {
            let src = src.trim();
            if src.is_empty() {
                None
            } else {
                Expression::compile(src, Domain::Oidc, Produces::StringList).map_err(|e| {
                    ServiceError::Invalid(format!("delegation.permissions_expression: {e}"))
                })?;
                Some(src.to_owned())
            }
        }
        None => current.permissions_expression,
    };
    let depth = input.max_chain_depth.unwrap_or(current.max_chain_depth);
    if !(1..=MAX_CHAIN_DEPTH_LIMIT).contains(&depth) {
        return Err(ServiceError::Invalid(format!(
            "delegation.max_chain_depth: must be 1 to {MAX_CHAIN_DEPTH_LIMIT}"
        )));
    }
    let enabled = input.enabled.unwrap_or(current.enabled);
    if enabled && expression.is_none() {
        return Err(ServiceError::Invalid(
            "delegation.permissions_expression: required to enable delegation (the permissions a person may delegate)".into(),
        ));
    }
    Ok(DelegationView {
        enabled,
        permissions_expression: expression,
        max_chain_depth: depth,
    })
}

/// A resource server's permission values, checked.
fn permission_list(input: &[String]) -> Result<Vec<String>> {
    let permissions = Permission::parse_list(input)?;
    if permissions.len() > 100 {
        return Err(ServiceError::Invalid(
            "permissions: at most 100 per resource server".into(),
        ));
    }
    Ok(permissions
        .into_iter()
        .map(Permission::into_inner)
        .collect())
}

/// The built-in developer-API resource server's shape is the SDK's contract.
fn refuse_builtin(m: &resource_server::Model, what: &str) -> Result<()> {
    if m.builtin {
        return Err(ServiceError::Conflict(format!(
            "the developer API's resource server is built in: {what}"
        )));
    }
    Ok(())
}

impl Writ {
    pub(crate) async fn ensure_builtin_resource_server(&self) -> Result<()> {
        let found = resource_server::Entity::find()
            .filter(resource_server::Column::Audience.eq(writ_core::PAM_AUDIENCE))
            .one(&self.db)
            .await?;
        if found.is_none() {
            let perms: Vec<String> = writ_core::PAM_PERMISSIONS
                .iter()
                .map(|s| s.to_string())
                .collect();
            resource_server::ActiveModel {
                id: Set(new_id()),
                name: Set("Writ developer API (PAM)".into()),
                audience: Set(writ_core::PAM_AUDIENCE.into()),
                permissions: Set(to_json(&perms)),
                token_ttl_secs: Set(3600),
                custom_subject: Set(false),
                builtin: Set(true),
                created_at: Set(self.now()),
                enabled: Set(true),
                delegation_enabled: Set(false),
                delegation_permissions_expression: Set(None),
                delegation_max_chain_depth: Set(DEFAULT_MAX_CHAIN_DEPTH),
            }
            .insert(&self.db)
            .await?;
        }
        Ok(())
    }

    pub async fn create_resource_server(
        &self,
        input: NewResourceServer,
    ) -> Result<ResourceServerView> {
        let name = DisplayName::parse("name", &input.name)?;
        let audience = Audience::parse(&input.audience)?;
        if audience.as_str().starts_with("urn:cloud:idaas") {
            return Err(ServiceError::Invalid(
                "audience: identifiers starting with 'urn:cloud:idaas' are reserved".into(),
            ));
        }
        let perms = permission_list(&input.permissions)?;
        let ttl = names::parse_token_ttl(input.access_token_ttl_seconds.unwrap_or(3600))?;
        let delegation = match &input.delegation {
            Some(d) => delegation_policy(DelegationView::default(), d)?,
            None => DelegationView::default(),
        };
        let tx = self.db.begin().await?;
        let m = resource_server::ActiveModel {
            id: Set(new_id()),
            name: Set(name.into_inner()),
            audience: Set(audience.as_str().to_owned()),
            permissions: Set(to_json(&perms)),
            token_ttl_secs: Set(ttl),
            custom_subject: Set(input.custom_subject.unwrap_or(false)),
            builtin: Set(false),
            created_at: Set(self.now()),
            enabled: Set(true),
            delegation_enabled: Set(delegation.enabled),
            delegation_permissions_expression: Set(delegation.permissions_expression),
            delegation_max_chain_depth: Set(delegation.max_chain_depth),
        }
        .insert(&tx)
        .await
        .map_err(|e| {
            conflict_on_unique(
                e,
                format!(
                    "a resource server with audience '{}' already exists",
                    audience
                ),
            )
        })?;
        let v = view(m);
        self.record_change(
            &tx,
            Change::new("resource_server", "create", &v.id).after(snapshot(&v)),
        )
        .await?;
        tx.commit().await?;
        self.changed();
        Ok(v)
    }

    pub async fn list_resource_servers(&self) -> Result<Vec<ResourceServerView>> {
        Ok(resource_server::Entity::find()
            .order_by_desc(resource_server::Column::Builtin)
            .order_by_asc(resource_server::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    pub async fn get_resource_server(&self, id: &str) -> Result<ResourceServerView> {
        resource_server::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .map(view)
            .ok_or(ServiceError::NotFound("resource server"))
    }

    async fn resource_server_model(&self, id: &str) -> Result<resource_server::Model> {
        resource_server::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .ok_or(ServiceError::NotFound("resource server"))
    }

    /// Edits permissions, token lifetime, the custom-subject switch and the
    /// delegation policy.
    /// A permission removed here is removed from every grant in the same
    /// transaction (a grant left with none goes), so no client keeps a
    /// permission its resource server no longer has.
    pub async fn update_resource_server(
        &self,
        id: &str,
        input: ResourceServerUpdate,
    ) -> Result<ResourceServerView> {
        let m = self.resource_server_model(id).await?;
        let mut am: resource_server::ActiveModel = m.clone().into();
        if let Some(ttl) = input.access_token_ttl_seconds {
            am.token_ttl_secs = Set(names::parse_token_ttl(ttl)?);
        }
        if let Some(on) = input.custom_subject_identity
            && on != m.custom_subject
        {
            refuse_builtin(&m, "its subject cannot be customised")?;
            am.custom_subject = Set(on);
        }
        if let Some(d) = &input.delegation {
            let now = view(m.clone()).delegation;
            let next = delegation_policy(now.clone(), d)?;
            if next != now {
                refuse_builtin(&m, "token exchange cannot target it")?;
            }
            am.delegation_enabled = Set(next.enabled);
            am.delegation_permissions_expression = Set(next.permissions_expression);
            am.delegation_max_chain_depth = Set(next.max_chain_depth);
        }
        let kept = match &input.permissions {
            Some(p) => {
                let list = permission_list(p)?;
                if list != json_list(&m.permissions) {
                    refuse_builtin(&m, "its permissions are fixed")?;
                }
                am.permissions = Set(to_json(&list));
                Some(list)
            }
            None => None,
        };
        let change =
            Change::new("resource_server", "update", &m.id).before(snapshot(&view(m.clone())));
        let tx = self.db.begin().await?;
        let updated = view(am.update(&tx).await?);
        self.record_change(&tx, change.after(snapshot(&updated)))
            .await?;
        if let Some(kept) = kept {
            let grants = permission_grant::Entity::find()
                .filter(permission_grant::Column::ResourceServerId.eq(m.id.as_str()))
                .all(&tx)
                .await?;
            for g in grants {
                let held = json_list(&g.permissions);
                if held.iter().any(|p| p == ".all") {
                    continue;
                }
                let still: Vec<String> =
                    held.iter().filter(|p| kept.contains(p)).cloned().collect();
                if still.len() == held.len() {
                    continue;
                }
                // The grant narrowed with its resource server is a change too.
                let before = grant_snapshot(&g);
                if still.is_empty() {
                    let change = Change::new("grant", "delete", &g.id).before(before);
                    permission_grant::Entity::delete_by_id(g.id)
                        .exec(&tx)
                        .await?;
                    self.record_change(&tx, change).await?;
                } else {
                    let mut ga: permission_grant::ActiveModel = g.into();
                    ga.permissions = Set(to_json(&still));
                    let g = ga.update(&tx).await?;
                    self.record_change(
                        &tx,
                        Change::new("grant", "update", &g.id)
                            .before(before)
                            .after(grant_snapshot(&g)),
                    )
                    .await?;
                }
            }
        }
        tx.commit().await?;
        self.changed();
        Ok(updated)
    }

    /// Disabled, the resource server's audience is refused at the token
    /// endpoint. The built-in one stays enabled: the SDKs need it.
    pub async fn set_resource_server_enabled(
        &self,
        id: &str,
        enabled: bool,
    ) -> Result<ResourceServerView> {
        let m = self.resource_server_model(id).await?;
        if !enabled {
            refuse_builtin(&m, "it cannot be disabled")?;
        }
        let m = self
            .set_enabled::<resource_server::Entity>(m, enabled)
            .await?;
        Ok(view(m))
    }

    /// Deletes a disabled resource server and its grants; never the built-in one.
    pub async fn delete_resource_server(&self, id: &str) -> Result<()> {
        let m = self.resource_server_model(id).await?;
        refuse_builtin(&m, "it cannot be deleted")?;
        self.delete_disabled::<resource_server::Entity>(m).await
    }

    /// Grants permissions (or `.all`) of a resource server to a client,
    /// replacing what that client held there before.
    pub async fn grant_permissions(&self, rs_id: &str, input: NewGrant) -> Result<GrantView> {
        let rs = self.get_resource_server(rs_id).await?;
        let c = self.client_by_client_id(&input.client_id).await?;
        let perms: Vec<String> = if input.permissions.iter().any(|p| p.trim() == ".all") {
            vec![".all".into()]
        } else {
            let list = Permission::parse_list(&input.permissions)?;
            if list.is_empty() {
                return Err(ServiceError::Invalid(
                    "permissions: choose at least one permission or '.all'".into(),
                ));
            }
            for p in &list {
                if !rs.permissions.iter().any(|r| r == p.as_str()) {
                    return Err(ServiceError::Invalid(format!(
                        "permissions: '{}' is not a permission of '{}'",
                        p, rs.audience
                    )));
                }
            }
            list.into_iter().map(Permission::into_inner).collect()
        };
        let existing = permission_grant::Entity::find()
            .filter(permission_grant::Column::ResourceServerId.eq(rs.id.clone()))
            .filter(permission_grant::Column::ClientPk.eq(c.id.clone()))
            .one(&self.db)
            .await?;
        // Every transaction here writes first: on SQLite (WAL) one that
        // read first could not take the write lock once another commit
        // came in between (SQLITE_BUSY, with no wait).
        let tx = self.db.begin().await?;
        let (m, before) = match existing {
            Some(g) => {
                let before = grant_snapshot(&g);
                let mut am: permission_grant::ActiveModel = g.into();
                am.permissions = Set(to_json(&perms));
                (am.update(&tx).await?, Some(before))
            }
            None => (
                permission_grant::ActiveModel {
                    id: Set(new_id()),
                    resource_server_id: Set(rs.id.clone()),
                    client_pk: Set(c.id.clone()),
                    permissions: Set(to_json(&perms)),
                    created_at: Set(self.now()),
                }
                .insert(&tx)
                .await
                .map_err(|e| conflict_on_unique(e, "this client already has a grant here"))?,
                None,
            ),
        };
        let change = match before {
            Some(b) => Change::new("grant", "update", &m.id).before(b),
            None => Change::new("grant", "create", &m.id),
        };
        self.record_change(&tx, change.after(grant_snapshot(&m)))
            .await?;
        tx.commit().await?;
        self.changed();
        Ok(GrantView {
            id: m.id,
            resource_server_id: rs.id,
            audience: rs.audience,
            client_pk: c.id,
            client_id: c.client_id,
            client_name: c.name,
            permissions: perms,
            created_at: m.created_at,
        })
    }

    pub async fn list_grants(&self, rs_id: &str) -> Result<Vec<GrantView>> {
        let rs = self.get_resource_server(rs_id).await?;
        let grants = permission_grant::Entity::find()
            .filter(permission_grant::Column::ResourceServerId.eq(rs.id.clone()))
            .order_by_asc(permission_grant::Column::CreatedAt)
            .all(&self.db)
            .await?;
        let mut out = Vec::with_capacity(grants.len());
        for g in grants {
            if let Some(c) = client::Entity::find_by_id(g.client_pk.clone())
                .one(&self.db)
                .await?
            {
                out.push(GrantView {
                    id: g.id,
                    resource_server_id: rs.id.clone(),
                    audience: rs.audience.clone(),
                    client_pk: c.id,
                    client_id: c.client_id,
                    client_name: c.name,
                    permissions: json_list(&g.permissions),
                    created_at: g.created_at,
                });
            }
        }
        Ok(out)
    }

    /// Grants a client holds, across resource servers.
    pub async fn grants_of_client(&self, client_pk: &str) -> Result<Vec<GrantView>> {
        let c = self.client_model(client_pk).await?;
        let grants = permission_grant::Entity::find()
            .filter(permission_grant::Column::ClientPk.eq(c.id.clone()))
            .all(&self.db)
            .await?;
        let mut out = Vec::with_capacity(grants.len());
        for g in grants {
            if let Some(rs) = resource_server::Entity::find_by_id(g.resource_server_id.clone())
                .one(&self.db)
                .await?
            {
                out.push(GrantView {
                    id: g.id,
                    resource_server_id: rs.id,
                    audience: rs.audience,
                    client_pk: c.id.clone(),
                    client_id: c.client_id.clone(),
                    client_name: c.name.clone(),
                    permissions: json_list(&g.permissions),
                    created_at: g.created_at,
                });
            }
        }
        Ok(out)
    }

    pub async fn revoke_grant(&self, rs_id: &str, grant_id: &str) -> Result<()> {
        let g = permission_grant::Entity::find_by_id(grant_id.to_owned())
            .one(&self.db)
            .await?
            .filter(|g| g.resource_server_id == rs_id)
            .ok_or(ServiceError::NotFound("grant"))?;
        let change = Change::new("grant", "delete", &g.id).before(grant_snapshot(&g));
        let tx = self.db.begin().await?;
        let done = permission_grant::Entity::delete_by_id(g.id)
            .exec(&tx)
            .await?;
        if done.rows_affected == 0 {
            return Err(ServiceError::NotFound("grant"));
        }
        self.record_change(&tx, change).await?;
        tx.commit().await?;
        self.changed();
        Ok(())
    }
}
