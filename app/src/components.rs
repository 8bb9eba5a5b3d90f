//! Pieces every page uses: the signed-in layout, copy buttons, error notes.

use crate::api::{self, Logout};
use leptos::prelude::*;
use leptos_router::components::{A, Redirect};
use writ_types::{CredentialGrantView, LifecycleState};

/// The signed-in frame: navigation and sign-out. Sends visitors who are not
/// signed in to `/login`.
#[component]
pub fn Layout(children: ChildrenFn) -> impl IntoView {
    let me = Resource::new(|| (), |_| api::whoami());
    let logout = ServerAction::<Logout>::new();
    view! {
        <Suspense fallback=|| view! { <p class="notice">"Loading…"</p> }>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    match me.await {
                        Ok(Some(user)) => view! {
                            <header class="topbar">
                                <span class="brand">"Writ"</span>
                                <nav>
                                    <A href="/agents">"Agent ID Guard"</A>
                                    <A href="/m2m">"M2M Applications"</A>
                                    <A href="/resource-servers">"Resource Servers"</A>
                                    <A href="/credentials">"Credentials"</A>
                                    <A href="/federation-providers">"Sign-In"</A>
                                    <A href="/audit">"Audit"</A>
                                </nav>
                                <span class="user">{user}</span>
                                <ActionForm action=logout>
                                    <button type="submit" class="link">"Sign out"</button>
                                </ActionForm>
                            </header>
                            <main class="content">{children()}</main>
                        }.into_any(),
                        _ => view! { <Redirect path="/login"/> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// The status and lifecycle cells every credential-like row shares:
/// enable/disable, and delete only once disabled (the button says why).
pub fn lifecycle_cells(
    noun: &'static str,
    enabled: bool,
    on_toggle: impl Fn() + Send + Sync + 'static,
    on_delete: impl Fn() + Send + Sync + 'static,
) -> impl IntoView {
    let state = LifecycleState::of(enabled);
    let title = if state.deletable() {
        format!("Delete this {noun}")
    } else {
        format!("Disable the {noun} before deleting it")
    };
    view! {
        <td><StatusBadge enabled=enabled/></td>
        <td>
            <button class="small" on:click=move |_| on_toggle()>{state.toggle_label()}</button>
            <button class="small danger" disabled=!state.deletable() title=title on:click=move |_| on_delete()>"Delete"</button>
            {(!state.deletable()).then(|| view! { <span class="hint">"Disable it first to delete it."</span> })}
        </td>
    }
}

/// A resource's lifecycle state as a badge.
#[component]
pub fn StatusBadge(enabled: bool) -> impl IntoView {
    let state = LifecycleState::of(enabled);
    view! { <span class=state.css_class()>{state.label()}</span> }
}

/// A value with a copy-to-clipboard button.
#[component]
pub fn CopyField(label: &'static str, value: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let v = value.clone();
    view! {
        <div class="copy-field">
            <span class="label">{label}</span>
            <code>{value}</code>
            <button class="small" type="button" on:click=move |_| {
                copy_to_clipboard(&v);
                copied.set(true);
            }>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
        </div>
    }
}

pub fn copy_to_clipboard(text: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}

/// Shows a server function's error as a readable note.
pub fn error_note(e: &ServerFnError) -> AnyView {
    let m = api::message(e);
    if m == api::SIGN_IN_MESSAGE {
        view! { <p class="error">"Your session has ended. " <a href="/login">"Sign in again"</a></p> }.into_any()
    } else {
        view! { <p class="error" role="alert">{m}</p> }.into_any()
    }
}

/// A query-string value, percent-encoded (RFC 3986 unreserved kept).
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn fmt_time(t: i64) -> String {
    // UTC, to the minute: enough to tell events apart in a list.
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60
    )
}

/// A UTC date and time as typed in a `datetime-local` field
/// (`YYYY-MM-DDTHH:MM`, optionally `:SS`; a space works for the `T`), or
/// plain unix seconds, as unix seconds.
pub fn parse_utc(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let (date, time) = s.split_once(['T', ' '])?;
    let mut d = date.splitn(3, '-').map(str::parse::<i64>);
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time.splitn(3, ':').map(str::parse::<i64>);
    let (h, min) = (t.next()?.ok()?, t.next()?.ok()?);
    let sec = t.next().transpose().ok()?.unwrap_or(0);
    let ok = (1..=12).contains(&m)
        && (1..=31).contains(&day)
        && (0..24).contains(&h)
        && (0..60).contains(&min)
        && (0..60).contains(&sec);
    ok.then(|| days_from_civil(y, m, day) * 86_400 + h * 3600 + min * 60 + sec)
}

/// Howard Hinnant's civil-to-days algorithm (the inverse of the one below).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// "Who may use it": grant an agent or application by `client_id`, and the
/// list of grantees. Credentials and credential providers share it.
pub fn grants_card(
    title: &'static str,
    empty: &'static str,
    grants: Resource<Result<Vec<CredentialGrantView>, ServerFnError>>,
    on_grant: impl Fn(String) + Send + Sync + 'static,
    error: impl Fn() -> Option<ServerFnError> + Send + Sync + 'static,
) -> AnyView {
    let grantee = RwSignal::new(String::new());
    view! {
        <section class="card" aria-label="Grants">
            <h2>{title}</h2>
            <label>"Agent or application client_id" <input type="text" name="grant_client_id" bind:value=grantee/></label>
            <button class="primary" on:click=move |_| on_grant(grantee.get())>"Grant"</button>
            {move || error().map(|e| error_note(&e))}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match grants.await {
                        Ok(g) if g.is_empty() => view! { <p class="muted">{empty}</p> }.into_any(),
                        Ok(g) => view! {
                            <ul class="grants">{g.into_iter().map(|g| view! { <li><code>{g.client_id}</code>" "{g.client_name}</li> }).collect_view()}</ul>
                        }.into_any(),
                        Err(e) => error_note(&e),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc() {
        assert_eq!(super::fmt_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::fmt_time(1_795_000_000), "2026-11-18 11:06 UTC");
    }

    #[test]
    fn parses_utc_as_typed_and_round_trips_with_fmt_time() {
        use super::parse_utc;
        assert_eq!(parse_utc("1970-01-01T00:00"), Some(0));
        assert_eq!(parse_utc("2026-11-18T11:06"), Some(1_794_999_960));
        assert_eq!(parse_utc("2026-11-18 11:06:40"), Some(1_795_000_000));
        assert_eq!(parse_utc("2000-02-29T23:59"), Some(951_868_740));
        assert_eq!(parse_utc("1795000000"), Some(1_795_000_000));
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00",
            "2026-11-18",
            "2026-11-18T25:00",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }
}
