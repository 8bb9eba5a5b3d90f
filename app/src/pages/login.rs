use crate::api::{self, Login};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    view! {
        <Title text="Sign in · Writ"/>
        <div class="login">
            <h1>"Writ"</h1>
            <p class="muted">"Identity for agents and machine workloads"</p>
            <ActionForm action=login>
                <label>"User name" <input type="text" name="username" autocomplete="username" required/></label>
                <label>"Password" <input type="password" name="password" autocomplete="current-password" required/></label>
                <button type="submit" class="primary">"Sign in"</button>
            </ActionForm>
            {move || login.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert">{api::message(&e)}</p> })}
        </div>
    }
}
