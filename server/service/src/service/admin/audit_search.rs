//! Audit search: the token audit log (`audit_events`) and the admin change
//! log (`admin_audit`) filtered and paged, newest first, by keyset over the
//! row id (`writ_core::audit_search`). Every filter is an exact match, so
//! each query is one indexed range: `(client_id, id)`, `(source, id)`, the
//! `(at)` index for time, or the primary key.

use crate::entities::{admin_audit, audit_event};
use crate::error::Result;
use crate::service::Writ;
use crate::service::token::audit::COMMIT_WAIT;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use writ_core::audit_search::{AdminAuditFilter, AuditFilter, Limits, Window, next_cursor};
use writ_types::{
    AdminAuditPage, AdminAuditQuery, AdminAuditView, AuditPage, AuditQuery, AuditView,
};

pub(crate) fn audit_view(e: audit_event::Model) -> AuditView {
    AuditView {
        id: e.id,
        at: e.at,
        client_id: e.client_id,
        method: e.method,
        audience: e.audience,
        scope: e.scope,
        jti: e.jti,
        outcome: e.outcome,
        reason: e.reason,
        source: e.source,
        count: e.count,
        last_at: e.last_at,
        delegation: e.delegation,
    }
}

fn admin_audit_view(m: admin_audit::Model) -> AdminAuditView {
    let json = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    AdminAuditView {
        id: m.id,
        at: m.at,
        actor_kind: m.actor_kind,
        actor: m.actor,
        actor_id: m.actor_id,
        action: m.action,
        resource_type: m.resource_type,
        resource_id: m.resource_id,
        before: json(m.before),
        after: json(m.after),
        source: m.source,
    }
}

impl Writ {
    /// A page of the token audit log. Records handed to the audit writer
    /// before this call are included (it waits for the pending batch, at
    /// most `COMMIT_WAIT`), as in the per-client list.
    pub async fn search_audit(&self, q: &AuditQuery) -> Result<AuditPage> {
        let filter = AuditFilter::parse(q, Limits::PAGE)?;
        let _ = tokio::time::timeout(COMMIT_WAIT, self.audit.flush()).await;
        self.audit_page(&filter).await
    }

    /// A page for an already checked filter, without waiting for the
    /// writer: the export asks for one page after another with this.
    pub async fn audit_page(&self, f: &AuditFilter) -> Result<AuditPage> {
        use audit_event::Column as C;
        let w = &f.window;
        let mut cond = window(w, C::At, C::Id);
        if let Some(v) = &f.outcome {
            cond = cond.add(C::Outcome.eq(v.as_str()));
        }
        for (col, v) in [
            (C::ClientId, &f.client_id),
            (C::Method, &f.method),
            (C::Reason, &f.reason),
            (C::Source, &f.source),
        ] {
            if let Some(v) = v {
                cond = cond.add(col.eq(v.as_str()));
            }
        }
        let mut rows = audit_event::Entity::find()
            .filter(cond)
            .order_by_desc(C::Id)
            .limit(w.limit.saturating_add(1))
            .all(&self.db)
            .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let next = next_cursor(&ids, w.limit);
        rows.truncate(usize::try_from(w.limit).unwrap_or(usize::MAX));
        Ok(AuditPage {
            items: rows.into_iter().map(audit_view).collect(),
            next_cursor: next,
        })
    }

    /// A page of the admin change log. `actor` matches a name or an id.
    pub async fn search_admin_audit(&self, q: &AdminAuditQuery) -> Result<AdminAuditPage> {
        use admin_audit::Column as C;
        let f = AdminAuditFilter::parse(q)?;
        let w = &f.window;
        let mut cond = window(w, C::At, C::Id);
        if let Some(v) = &f.actor {
            cond = cond.add(
                Condition::any()
                    .add(C::Actor.eq(v.as_str()))
                    .add(C::ActorId.eq(v.as_str())),
            );
        }
        for (col, v) in [
            (C::Action, &f.action),
            (C::ResourceType, &f.resource_type),
            (C::ResourceId, &f.resource_id),
        ] {
            if let Some(v) = v {
                cond = cond.add(col.eq(v.as_str()));
            }
        }
        let mut rows = admin_audit::Entity::find()
            .filter(cond)
            .order_by_desc(C::Id)
            .limit(w.limit.saturating_add(1))
            .all(&self.db)
            .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let next = next_cursor(&ids, w.limit);
        rows.truncate(usize::try_from(w.limit).unwrap_or(usize::MAX));
        Ok(AdminAuditPage {
            items: rows.into_iter().map(admin_audit_view).collect(),
            next_cursor: next,
        })
    }
}

/// The time range and the keyset cursor, the same for both logs.
fn window<C: ColumnTrait>(w: &Window, at: C, id: C) -> Condition {
    let mut cond = Condition::all();
    if let Some(v) = w.since {
        cond = cond.add(at.gte(v));
    }
    if let Some(v) = w.until {
        cond = cond.add(at.lte(v));
    }
    if let Some(v) = w.cursor {
        cond = cond.add(id.lt(v));
    }
    cond
}
