//! Login, token expiry and revocation, disabled users, throttling, INTEGRATION API tokens.
use serde_json::json;
use songnuan_tests::{ADMIN_PASSWORD, TestApp, code};

const ME: &str = "{me{username roles organization{id}}}";

#[tokio::test]
async fn login_returns_a_working_token_and_bad_passwords_are_refused() {
    let app = TestApp::spawn().await;
    let d = app
        .ok(
            None,
            "mutation{login(username:\"admin\",password:\"admin-pass-123\"){token user{username roles organization{kind}}}}",
            json!({}),
        )
        .await;
    assert_eq!(d["login"]["user"]["roles"], json!(["ADMIN"]));
    assert_eq!(d["login"]["user"]["organization"]["kind"], "FEDERATION");
    let token = d["login"]["token"].as_str().unwrap();
    let d = app.ok(Some(token), ME, json!({})).await;
    assert_eq!(d["me"]["username"], "admin");
    for (u, p) in [
        ("admin", "wrong-password"),
        ("nobody", "admin-pass-123"),
        ("admin", ""),
    ] {
        let v = app
            .gql(
                None,
                "mutation($u:String!,$p:String!){login(username:$u,password:$p){token}}",
                json!({"u": u, "p": p}),
            )
            .await;
        assert_eq!(code(&v), Some("UNAUTHENTICATED"), "{u}/{p}");
    }
}

#[tokio::test]
async fn password_change_and_reset_revoke_tokens_and_disabled_users_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let t1 = app.user_token(&admin, "worker1", &["CASEWORKER"], &root).await;
    let t2 = app.login("worker1", "password-123").await;
    app.ok(Some(&t1), ME, json!({})).await;

    // wrong old password
    let v = app
        .gql(
            Some(&t1),
            "mutation{changePassword(oldPassword:\"nope-nope\",newPassword:\"password-456\"){id}}",
            json!({}),
        )
        .await;
    assert_eq!(code(&v), Some("VALIDATION"));
    app.ok(
        Some(&t1),
        "mutation{changePassword(oldPassword:\"password-123\",newPassword:\"password-456\"){id}}",
        json!({}),
    )
    .await;
    for t in [&t1, &t2] {
        assert_eq!(
            code(&app.gql(Some(t), ME, json!({})).await),
            Some("UNAUTHENTICATED")
        );
    }
    let t3 = app.login("worker1", "password-456").await;
    app.ok(Some(&t3), ME, json!({})).await;

    // ADMIN reset
    let id = app.ok(Some(&t3), "{me{id}}", json!({})).await["me"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.ok(
        Some(&admin),
        "mutation($id:ID!){resetPassword(id:$id,newPassword:\"reset-pass-1\"){id}}",
        json!({"id": id}),
    )
    .await;
    assert_eq!(
        code(&app.gql(Some(&t3), ME, json!({})).await),
        Some("UNAUTHENTICATED")
    );
    let t4 = app.login("worker1", "reset-pass-1").await;

    // disable: the token dies and login is refused; enable brings login back
    app.ok(
        Some(&admin),
        "mutation($id:ID!){disableUser(id:$id){disabled}}",
        json!({"id": id}),
    )
    .await;
    assert_eq!(
        code(&app.gql(Some(&t4), ME, json!({})).await),
        Some("UNAUTHENTICATED")
    );
    let v = app
        .gql(
            None,
            "mutation{login(username:\"worker1\",password:\"reset-pass-1\"){token}}",
            json!({}),
        )
        .await;
    assert_eq!(code(&v), Some("UNAUTHENTICATED"));
    app.ok(
        Some(&admin),
        "mutation($id:ID!){enableUser(id:$id){disabled}}",
        json!({"id": id}),
    )
    .await;
    app.login("worker1", "reset-pass-1").await;

    // an admin cannot lock itself out
    let admin_id = app.ok(Some(&admin), "{me{id}}", json!({})).await["me"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let v = app
        .gql(
            Some(&admin),
            "mutation($id:ID!){disableUser(id:$id){id}}",
            json!({"id": admin_id}),
        )
        .await;
    assert_eq!(code(&v), Some("VALIDATION"));
}

#[tokio::test]
async fn tokens_expire_after_the_configured_lifetime() {
    let app = TestApp::spawn_with(&[("SONGNUAN_TOKEN_TTL_HOURS", "1")]).await;
    let admin_id = 1;
    let now = chrono::Utc::now();
    let fresh = domain::auth::issue_session_token(&app.settings, admin_id, 0, now);
    app.ok(Some(&fresh), ME, json!({})).await;
    let old =
        domain::auth::issue_session_token(&app.settings, admin_id, 0, now - chrono::Duration::minutes(61));
    assert_eq!(
        code(&app.gql(Some(&old), ME, json!({})).await),
        Some("UNAUTHENTICATED")
    );
}

#[tokio::test]
async fn failed_logins_are_rate_limited_per_username_and_per_address() {
    let app = TestApp::spawn_with(&[
        ("SONGNUAN_LOGIN_MAX_FAILURES", "3"),
        ("SONGNUAN_LOGIN_MAX_FAILURES_PER_ADDRESS", "6"),
    ])
    .await;
    let login = "mutation($u:String!,$p:String!){login(username:$u,password:$p){token}}";
    for _ in 0..3 {
        let v = app
            .gql(None, login, json!({"u": "admin", "p": "bad-password"}))
            .await;
        assert_eq!(code(&v), Some("UNAUTHENTICATED"));
    }
    // even the right password is refused now
    let v = app
        .gql(None, login, json!({"u": "admin", "p": ADMIN_PASSWORD}))
        .await;
    assert_eq!(code(&v), Some("RATE_LIMITED"));
    // other usernames from the same address, until the address limit
    for i in 0..3 {
        let v = app
            .gql(None, login, json!({"u": format!("ghost{i}"), "p": "x"}))
            .await;
        assert_eq!(code(&v), Some("UNAUTHENTICATED"));
    }
    let v = app.gql(None, login, json!({"u": "someone-else", "p": "x"})).await;
    assert_eq!(code(&v), Some("RATE_LIMITED"));
    // nothing of this reached the audit log (only bootstrap entries)
    let d = {
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        entities::audit_log::Entity::find()
            .filter(entities::audit_log::Column::Action.eq("login"))
            .count(&app.db)
            .await
            .unwrap()
    };
    assert_eq!(d, 0);
}

#[tokio::test]
async fn integration_api_tokens_are_shown_once_stored_hashed_and_revocable() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let uid = app
        .ok(
            Some(&admin),
            "mutation($i:CreateUserInput!){createUser(input:$i){id}}",
            json!({"i": {"username": "province", "password": "password-123", "displayName": "省平台", "roles": ["INTEGRATION"], "organizationId": root}}),
        )
        .await["createUser"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let exp = (chrono::Utc::now() + chrono::Duration::days(90)).to_rfc3339();
    let d = app
        .ok(
            Some(&admin),
            "mutation($u:ID!,$e:DateTime!){createApiToken(userId:$u,name:\"云南省工会帮扶系统\",expiresAt:$e){token apiToken{id name}}}",
            json!({"u": uid, "e": exp}),
        )
        .await;
    let token = d["createApiToken"]["token"].as_str().unwrap().to_string();
    let tid = d["createApiToken"]["apiToken"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let d = app.ok(Some(&token), ME, json!({})).await;
    assert_eq!(d["me"]["roles"], json!(["INTEGRATION"]));
    // the database holds no clear token
    use sea_orm::EntityTrait;
    let rows = entities::api_token::Entity::find().all(&app.db).await.unwrap();
    assert!(
        rows.iter()
            .all(|r| r.token_hash != token && !token.contains(&r.token_hash))
    );
    // the audit diff holds no clear token either
    let d = app
        .ok(
            Some(&admin),
            "{auditLog(action:\"createApiToken\"){edges{node{diff}}}}",
            json!({}),
        )
        .await;
    assert!(!d.to_string().contains(&token));
    // only INTEGRATION users get one
    let admin_id = app.ok(Some(&admin), "{me{id}}", json!({})).await["me"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let v = app
        .gql(
            Some(&admin),
            "mutation($u:ID!,$e:DateTime!){createApiToken(userId:$u,name:\"x\",expiresAt:$e){token}}",
            json!({"u": admin_id, "e": exp}),
        )
        .await;
    assert_eq!(code(&v), Some("VALIDATION"));
    // revoked: refused at once
    app.ok(
        Some(&admin),
        "mutation($id:ID!){revokeApiToken(id:$id){revokedAt}}",
        json!({"id": tid}),
    )
    .await;
    assert_eq!(
        code(&app.gql(Some(&token), ME, json!({})).await),
        Some("UNAUTHENTICATED")
    );
    let v = app
        .gql(
            Some(&admin),
            "mutation($id:ID!){revokeApiToken(id:$id){id}}",
            json!({"id": tid}),
        )
        .await;
    assert_eq!(code(&v), Some("CONFLICT"));
    // an expired token is refused
    let d = app
        .ok(
            Some(&admin),
            "mutation($u:ID!,$e:DateTime!){createApiToken(userId:$u,name:\"短期\",expiresAt:$e){token apiToken{id}}}",
            json!({"u": uid, "e": (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339()}),
        )
        .await;
    let short = d["createApiToken"]["token"].as_str().unwrap().to_string();
    app.ok(Some(&short), ME, json!({})).await;
    app.exec("UPDATE api_tokens SET expires_at = '2020-01-01 00:00:00+00:00'")
        .await;
    assert_eq!(
        code(&app.gql(Some(&short), ME, json!({})).await),
        Some("UNAUTHENTICATED")
    );
}

/// Sends every (username, password) login at once and counts the answers by error code.
async fn concurrent_logins(app: &TestApp, attempts: &[(String, String)]) -> (usize, usize) {
    let login = "mutation($u:String!,$p:String!){login(username:$u,password:$p){token}}";
    let answers = futures::future::join_all(
        attempts
            .iter()
            .map(|(u, p)| app.gql(None, login, json!({"u": u, "p": p}))),
    )
    .await;
    let (mut unauthenticated, mut limited) = (0, 0);
    for v in &answers {
        match code(v) {
            Some("UNAUTHENTICATED") => unauthenticated += 1,
            Some("RATE_LIMITED") => limited += 1,
            _ => panic!("unexpected answer to a wrong password: {v}"),
        }
    }
    (unauthenticated, limited)
}

/// Moves every throttle window into the past, as if the window had elapsed.
async fn age_throttle_windows(app: &TestApp) {
    app.exec("UPDATE login_throttle SET window_start = window_start - 86400")
        .await;
}

#[tokio::test]
async fn the_login_throttle_holds_under_concurrent_attempts_for_one_username() {
    let app = TestApp::spawn().await;
    let limit = app.settings.login_throttle.per_username as usize;
    assert_eq!(limit, 5, "the default per-username limit");
    let wrong: Vec<_> = (0..50)
        .map(|i| ("admin".to_string(), format!("wrong-password-{i}")))
        .collect();
    let (unauthenticated, limited) = concurrent_logins(&app, &wrong).await;
    assert_eq!(
        (unauthenticated, limited),
        (limit, 50 - limit),
        "password checks / refusals for one username"
    );
    // still refused with the right password while the window lasts
    let login = "mutation($u:String!,$p:String!){login(username:$u,password:$p){token}}";
    let v = app
        .gql(None, login, json!({"u": "admin", "p": ADMIN_PASSWORD}))
        .await;
    assert_eq!(code(&v), Some("RATE_LIMITED"));
    // once the window is over the right password works, and a success resets the count
    age_throttle_windows(&app).await;
    app.admin().await;
    for _ in 0..limit - 1 {
        let v = app
            .gql(None, login, json!({"u": "admin", "p": "bad-password"}))
            .await;
        assert_eq!(code(&v), Some("UNAUTHENTICATED"));
    }
    app.admin().await;
    // a burst after the success gets a full allowance again
    let (unauthenticated, limited) = concurrent_logins(&app, &wrong[..limit + 3]).await;
    assert_eq!((unauthenticated, limited), (limit, 3));
}

#[tokio::test]
async fn the_login_throttle_holds_under_concurrent_attempts_from_one_address() {
    let app = TestApp::spawn().await;
    let limit = app.settings.login_throttle.per_address as usize;
    assert_eq!(limit, 20, "the default per-address limit");
    let wrong: Vec<_> = (0..50)
        .map(|i| (format!("ghost{i}"), "wrong-password".to_string()))
        .collect();
    let (unauthenticated, limited) = concurrent_logins(&app, &wrong).await;
    assert_eq!(
        (unauthenticated, limited),
        (limit, 50 - limit),
        "password checks / refusals for one client address"
    );
    // the address is refused for every username, even with the right password
    let login = "mutation($u:String!,$p:String!){login(username:$u,password:$p){token}}";
    let v = app
        .gql(None, login, json!({"u": "admin", "p": ADMIN_PASSWORD}))
        .await;
    assert_eq!(code(&v), Some("RATE_LIMITED"));
    // housekeeping drops the expired windows; after the window the address may log in again
    age_throttle_windows(&app).await;
    let purged = domain::auth::purge_login_failures(&app.db, &app.settings)
        .await
        .unwrap();
    assert_eq!(purged, 52, "50 usernames, admin and the address");
    app.admin().await;
}
