//! Audit: token requests (issued and refused) searched by client, method,
//! outcome, reason, source and time, paged, and exported as JSON lines;
//! and the admin change log (who changed what, before and after).

use crate::api;
use crate::components::{Layout, error_note, fmt_time, parse_utc, urlencode};
use leptos::prelude::*;
use leptos_meta::Title;
use writ_types::{AdminAuditQuery, AdminAuditView, AuditQuery, AuditView};

#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <Title text="Audit · Writ"/>
        <Layout>
            <AuditBody/>
        </Layout>
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Requests,
    Changes,
}

#[component]
fn AuditBody() -> impl IntoView {
    let tab = RwSignal::new(Tab::Requests);
    let tab_button = move |t: Tab, label: &'static str| {
        view! {
            <button role="tab" class:active=move || tab.get() == t aria-selected=move || (tab.get() == t).to_string()
                on:click=move |_| tab.set(t)>{label}</button>
        }
    };
    view! {
        <div class="page-head"><h1>"Audit"</h1></div>
        <div class="tabs" role="tablist">
            {tab_button(Tab::Requests, "Token Requests")}
            {tab_button(Tab::Changes, "Admin Changes")}
        </div>
        {move || match tab.get() {
            Tab::Requests => view! { <TokenRequests/> }.into_any(),
            Tab::Changes => view! { <AdminChanges/> }.into_any(),
        }}
    }
}

/// Some text, or none when blank.
fn given(s: String) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// The "From" and "To" fields as unix seconds (`To` takes its whole
/// minute), or a message naming the field that does not read as a time.
fn time_range(from: &str, to: &str) -> Result<(Option<String>, Option<String>), String> {
    let read = |label: &str, s: &str, end: bool| -> Result<Option<String>, String> {
        if s.trim().is_empty() {
            return Ok(None);
        }
        let t = parse_utc(s).ok_or_else(|| {
            format!("{label}: use a date and time (YYYY-MM-DD HH:MM, UTC) or unix seconds")
        })?;
        // A typed minute ends 59 seconds later; unix seconds are exact.
        let minute = end && !s.trim().bytes().all(|b| b.is_ascii_digit());
        Ok(Some((if minute { t + 59 } else { t }).to_string()))
    };
    Ok((read("From", from, false)?, read("To", to, true)?))
}

/// `?a=1&b=2` of the pairs that have a value.
fn query_string(pairs: &[(&str, &Option<String>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", urlencode(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// Previous / Next over keyset pages: the cursors of the pages behind the
/// current one (the first page has none).
#[derive(Clone, Copy)]
struct Pager {
    cursors: RwSignal<Vec<i64>>,
}

impl Pager {
    fn new() -> Self {
        Self {
            cursors: RwSignal::new(Vec::new()),
        }
    }
    fn current(&self) -> Option<String> {
        self.cursors.with(|c| c.last().map(i64::to_string))
    }
    fn reset(&self) {
        self.cursors.set(Vec::new());
    }
    fn view(self, next: Option<i64>) -> impl IntoView {
        let cursors = self.cursors;
        let page = cursors.with(Vec::len) + 1;
        view! {
            <div class="actions pager" aria-label="Pages">
                <button disabled=page == 1 on:click=move |_| { cursors.update(|c| { c.pop(); }); }>"Previous"</button>
                <span class="muted page-number">{format!("Page {page}")}</span>
                <button disabled=next.is_none() on:click=move |_| {
                    if let Some(n) = next { cursors.update(|c| c.push(n)); }
                }>"Next"</button>
            </div>
        }
    }
}

#[component]
fn TokenRequests() -> impl IntoView {
    let client_id = RwSignal::new(String::new());
    let method = RwSignal::new(String::new());
    let outcome = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    let source = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let limit = RwSignal::new("50".to_owned());
    let problem = RwSignal::new(None::<String>);
    // What was last searched for (the filters, without the page).
    let applied = RwSignal::new(AuditQuery {
        limit: Some("50".into()),
        ..Default::default()
    });
    let pager = Pager::new();
    let rows = Resource::new(
        move || AuditQuery {
            cursor: pager.current(),
            ..applied.get()
        },
        api::search_audit,
    );
    let search = move || match time_range(&from.get(), &to.get()) {
        Ok((since, until)) => {
            problem.set(None);
            pager.reset();
            applied.set(AuditQuery {
                client_id: given(client_id.get()),
                method: given(method.get()),
                outcome: given(outcome.get()),
                reason: given(reason.get()),
                source: given(source.get()),
                since,
                until,
                limit: given(limit.get()),
                cursor: None,
            });
        }
        Err(p) => problem.set(Some(p)),
    };
    // Every row the filters match, whatever the page size.
    let export_href = move || {
        let q = applied.get();
        format!(
            "/console/audit/export{}",
            query_string(&[
                ("client_id", &q.client_id),
                ("method", &q.method),
                ("outcome", &q.outcome),
                ("reason", &q.reason),
                ("source", &q.source),
                ("since", &q.since),
                ("until", &q.until),
            ])
        )
    };
    view! {
        <section class="card filters" aria-label="Filter token requests">
            <form class="filter-grid" on:submit=move |ev| { ev.prevent_default(); search(); }>
                <label>"Client ID" <input type="text" name="client_id" bind:value=client_id placeholder="app_…"/></label>
                <label>"Method"
                    <select name="method" on:change=move |ev| method.set(event_target_value(&ev))>
                        <option value="" selected>"Any"</option>
                        <option value="client_secret_post">"client_secret_post"</option>
                        <option value="client_secret_basic">"client_secret_basic"</option>
                        <option value="client_secret_jwt">"client_secret_jwt"</option>
                        <option value="private_key_jwt">"private_key_jwt"</option>
                        <option value="pca_federated">"pca_federated"</option>
                        <option value="oidc_federated">"oidc_federated"</option>
                        <option value="pkcs7_federated">"pkcs7_federated"</option>
                    </select>
                </label>
                <label>"Outcome"
                    <select name="outcome" on:change=move |ev| outcome.set(event_target_value(&ev))>
                        <option value="" selected>"Any"</option>
                        <option value="issued">"Issued"</option>
                        <option value="refused">"Refused"</option>
                    </select>
                </label>
                <label>"Reason" <input type="text" name="reason" bind:value=reason placeholder="secret_mismatch"/></label>
                <label>"Source" <input type="text" name="source" bind:value=source placeholder="203.0.113.7"/></label>
                <label>"From (UTC)" <input type="datetime-local" name="from" bind:value=from/></label>
                <label>"To (UTC)" <input type="datetime-local" name="to" bind:value=to/></label>
                <label>"Rows per page"
                    <select name="limit" on:change=move |ev| limit.set(event_target_value(&ev))>
                        <option value="10">"10"</option>
                        <option value="50" selected>"50"</option>
                        <option value="100">"100"</option>
                        <option value="500">"500"</option>
                    </select>
                </label>
                <div class="actions">
                    <button type="submit" class="primary">"Search"</button>
                    <a class="button" href=export_href download="writ-audit.ndjson">"Export JSON lines"</a>
                </div>
            </form>
            {move || problem.get().map(|p| view! { <p class="error" role="alert">{p}</p> })}
        </section>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match rows.await {
                    Ok(page) if page.items.is_empty() => view! {
                        <p class="muted">"No token requests match."</p>
                        {pager.view(None)}
                    }.into_any(),
                    Ok(page) => view! {
                        <TokenTable rows=page.items/>
                        {pager.view(page.next_cursor)}
                    }.into_any(),
                    Err(e) => error_note(&e),
                }
            })}
        </Transition>
    }
}

#[component]
fn TokenTable(rows: Vec<AuditView>) -> impl IntoView {
    view! {
        <div class="table-scroll"><table class="list audit" aria-label="Token requests">
            <thead><tr><th>"Time"</th><th>"Client ID"</th><th>"Method"</th><th>"Outcome"</th><th>"Reason"</th><th>"Scope"</th><th>"Source"</th><th>"Requests"</th></tr></thead>
            <tbody>{rows.into_iter().map(|e| {
                // A folded row: N refusals from one source, first to last.
                let times = match e.last_at {
                    Some(last) if e.count > 1 => format!("{} (until {})", e.count, fmt_time(last)),
                    _ => e.count.to_string(),
                };
                view! {
                    <tr data-id=e.id.to_string()>
                        <td class="time">{fmt_time(e.at)}</td><td><code>{e.client_id}</code></td><td>{e.method}</td>
                        <td class=format!("outcome {}", e.outcome)>{e.outcome.clone()}</td><td>{e.reason}</td>
                        <td><code>{e.scope}</code></td><td>{e.source}</td><td class="count">{times}</td>
                    </tr>
                }
            }).collect_view()}</tbody>
        </table></div>
    }
}

#[component]
fn AdminChanges() -> impl IntoView {
    let actor = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    let resource_type = RwSignal::new(String::new());
    let resource_id = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let applied = RwSignal::new(AdminAuditQuery::default());
    let pager = Pager::new();
    let rows = Resource::new(
        move || AdminAuditQuery {
            cursor: pager.current(),
            ..applied.get()
        },
        api::search_admin_audit,
    );
    let search = move || match time_range(&from.get(), &to.get()) {
        Ok((since, until)) => {
            problem.set(None);
            pager.reset();
            applied.set(AdminAuditQuery {
                actor: given(actor.get()),
                action: given(action.get()),
                resource_type: given(resource_type.get()),
                resource_id: given(resource_id.get()),
                since,
                until,
                limit: None,
                cursor: None,
            });
        }
        Err(p) => problem.set(Some(p)),
    };
    view! {
        <section class="card filters" aria-label="Filter admin changes">
            <form class="filter-grid" on:submit=move |ev| { ev.prevent_default(); search(); }>
                <label>"Actor" <input type="text" name="actor" bind:value=actor placeholder="admin"/></label>
                <label>"Action" <input type="text" name="action" bind:value=action placeholder="agent.disable"/></label>
                <label>"Resource type" <input type="text" name="resource_type" bind:value=resource_type placeholder="agent"/></label>
                <label>"Resource ID" <input type="text" name="resource_id" bind:value=resource_id/></label>
                <label>"From (UTC)" <input type="datetime-local" name="from" bind:value=from/></label>
                <label>"To (UTC)" <input type="datetime-local" name="to" bind:value=to/></label>
                <div class="actions"><button type="submit" class="primary">"Search"</button></div>
            </form>
            {move || problem.get().map(|p| view! { <p class="error" role="alert">{p}</p> })}
        </section>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match rows.await {
                    Ok(page) if page.items.is_empty() => view! {
                        <p class="muted">"No admin changes match."</p>
                        {pager.view(None)}
                    }.into_any(),
                    Ok(page) => view! {
                        <ChangeTable rows=page.items/>
                        {pager.view(page.next_cursor)}
                    }.into_any(),
                    Err(e) => error_note(&e),
                }
            })}
        </Transition>
    }
}

fn pretty(v: &Option<serde_json::Value>) -> String {
    v.as_ref()
        .and_then(|v| serde_json::to_string_pretty(v).ok())
        .unwrap_or_else(|| "—".into())
}

#[component]
fn ChangeTable(rows: Vec<AdminAuditView>) -> impl IntoView {
    view! {
        <div class="table-scroll"><table class="list audit" aria-label="Admin changes">
            <thead><tr><th>"Time"</th><th>"Actor"</th><th>"Action"</th><th>"Resource"</th><th>"Source"</th><th>"Before / after"</th></tr></thead>
            <tbody>{rows.into_iter().map(|c| {
                let (before, after) = (pretty(&c.before), pretty(&c.after));
                view! {
                    <tr data-id=c.id.to_string()>
                        <td class="time">{fmt_time(c.at)}</td>
                        <td>{c.actor}<span class="hint">{c.actor_kind}</span></td>
                        <td class="action"><code>{c.action}</code></td>
                        <td>{c.resource_type}" "<code>{c.resource_id}</code></td>
                        <td>{c.source}</td>
                        <td>
                            <details>
                                <summary>"Show"</summary>
                                <div class="diff">
                                    <div><strong>"Before"</strong><pre>{before}</pre></div>
                                    <div><strong>"After"</strong><pre>{after}</pre></div>
                                </div>
                            </details>
                        </td>
                    </tr>
                }
            }).collect_view()}</tbody>
        </table></div>
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_time_range_reads_minutes_and_seconds() {
        assert_eq!(time_range("", ""), Ok((None, None)));
        assert_eq!(
            time_range("1970-01-01T00:01", "1970-01-01T00:02"),
            Ok((Some("60".into()), Some("179".into())))
        );
        assert_eq!(
            time_range("100", "200"),
            Ok((Some("100".into()), Some("200".into())))
        );
        assert!(time_range("soon", "").unwrap_err().starts_with("From:"));
        assert!(time_range("", "later").unwrap_err().starts_with("To:"));
    }

    #[test]
    fn the_export_query_string_carries_given_filters_only() {
        let a = Some("app_1".to_owned());
        let s = Some("10.0.0.1 x".to_owned());
        assert_eq!(
            query_string(&[("client_id", &a), ("method", &None), ("source", &s)]),
            "?client_id=app_1&source=10.0.0.1%20x"
        );
        assert_eq!(query_string(&[("client_id", &None)]), "");
    }
}
