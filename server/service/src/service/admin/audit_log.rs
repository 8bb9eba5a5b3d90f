//! The admin change log: every create, update, enable, disable, delete,
//! grant and revoke made through the console or the admin API is recorded
//! in `admin_audit` with who made it ([`Actor`]), from where, and the
//! resource before and after, in the transaction of the change itself (a
//! change is never committed without its record, nor the other way round).
//!
//! **Who.** The caller's identity reaches the service layer as a task-local
//! [`Actor`], set once per request by the transport: the admin API's token
//! check and the console's session layer wrap the handler in
//! [`Actor::scope`]. The service methods keep their signatures (no `actor`
//! argument threaded through ~60 methods and their ~110 callers), and a
//! transport cannot forget it per handler: the scope is set at the router.
//! A change made outside any scope (at start: the bootstrap admin and admin
//! token) is recorded as [`ActorKind::System`].
//!
//! **When.** In the change's transaction, which writes first: on SQLite
//! (WAL) a transaction that reads before its first write cannot take the
//! write lock once another commit came in between (`SQLITE_BUSY`, without
//! waiting), so what a change needs to read is read before `begin`.
//!
//! **What.** Snapshots are the views the API answers with (which hold no
//! secret by construction), passed through `writ_core::admin_audit::redact`
//! (the one redaction rule, unit-tested there) before they are stored.

use crate::entities::admin_audit;
use crate::error::Result;
use crate::service::Writ;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use serde::Serialize;
use serde_json::Value;
use writ_core::names::printable_prefix;

/// Who is making a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// A user signed in to the console.
    Console,
    /// A caller of the admin API with an admin token.
    ApiToken,
    /// Writ itself (at start, from its environment).
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Console => "console",
            Self::ApiToken => "api_token",
            Self::System => "system",
        }
    }
}

/// The caller of an admin change, and the address it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    /// The console user name or the admin token's name.
    pub name: String,
    /// The console user's or the admin token's id.
    pub id: String,
    pub source: String,
}

tokio::task_local! {
    static ACTOR: Actor;
}

impl Actor {
    pub fn console(id: &str, username: &str, source: &str) -> Self {
        Self {
            kind: ActorKind::Console,
            name: username.to_owned(),
            id: id.to_owned(),
            source: source.to_owned(),
        }
    }

    pub fn api_token(id: &str, name: &str, source: &str) -> Self {
        Self {
            kind: ActorKind::ApiToken,
            name: name.to_owned(),
            id: id.to_owned(),
            source: source.to_owned(),
        }
    }

    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            name: "writ".into(),
            id: String::new(),
            source: String::new(),
        }
    }

    /// Runs `f` (a request's handler) with this actor making its changes.
    pub async fn scope<F: Future>(self, f: F) -> F::Output {
        ACTOR.scope(self, f).await
    }

    /// The actor of the running request; [`Actor::system`] outside one.
    pub fn current() -> Self {
        ACTOR
            .try_with(Clone::clone)
            .unwrap_or_else(|_| Self::system())
    }
}

/// One change to record: `<resource_type>.<verb>` on `resource_id`.
pub(crate) struct Change {
    resource_type: &'static str,
    verb: &'static str,
    resource_id: String,
    before: Option<Value>,
    after: Option<Value>,
}

impl Change {
    pub(crate) fn new(resource_type: &'static str, verb: &'static str, id: &str) -> Self {
        Self {
            resource_type,
            verb,
            resource_id: id.to_owned(),
            before: None,
            after: None,
        }
    }

    /// The resource before the change (a view: see [`snapshot`]).
    pub(crate) fn before(mut self, v: Value) -> Self {
        self.before = Some(v);
        self
    }

    pub(crate) fn after(mut self, v: Value) -> Self {
        self.after = Some(v);
        self
    }
}

/// A view as JSON, for a change's before or after.
pub(crate) fn snapshot(v: &impl Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// `v` with one more field (a snapshot's context, e.g. the owning client).
pub(crate) fn with_field(mut v: Value, key: &str, value: impl Into<Value>) -> Value {
    if let Value::Object(o) = &mut v {
        o.insert(key.to_owned(), value.into());
    }
    v
}

impl Writ {
    /// Records `change` by the current [`Actor`] on `db`: the transaction
    /// of the change, so both commit or neither does.
    pub(crate) async fn record_change<C: ConnectionTrait>(&self, db: &C, c: Change) -> Result<()> {
        let actor = Actor::current();
        let json = |v: Option<Value>| v.map(|v| writ_core::admin_audit::redact(v).to_string());
        let row = admin_audit::ActiveModel {
            at: Set(self.now()),
            actor_kind: Set(actor.kind.as_str().to_owned()),
            actor: Set(printable_prefix(&actor.name, 128)),
            actor_id: Set(printable_prefix(&actor.id, 64)),
            action: Set(format!("{}.{}", c.resource_type, c.verb)),
            resource_type: Set(c.resource_type.to_owned()),
            resource_id: Set(printable_prefix(&c.resource_id, 128)),
            before: Set(json(c.before)),
            after: Set(json(c.after)),
            source: Set(printable_prefix(&actor.source, 64)),
            ..Default::default()
        };
        admin_audit::Entity::insert(row).exec(db).await?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_actor_is_the_scopes_and_system_outside_one() {
        assert_eq!(Actor::current().kind, ActorKind::System);
        let who = Actor::api_token("t1", "ci", "10.0.0.9");
        let seen = who
            .clone()
            .scope(async {
                tokio::task::yield_now().await;
                Actor::current()
            })
            .await;
        assert_eq!(seen, who);
        assert_eq!(Actor::current().kind, ActorKind::System);
    }

    #[test]
    fn with_field_adds_to_objects_only() {
        let v = with_field(serde_json::json!({"a": 1}), "b", "x");
        assert_eq!(v, serde_json::json!({"a": 1, "b": "x"}));
        assert_eq!(with_field(Value::Null, "b", 1), Value::Null);
    }
}
