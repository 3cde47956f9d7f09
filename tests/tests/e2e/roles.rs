//! The role matrix of docs/domain.md, walked operation × role, and GRASSROOTS scoping.
use serde_json::{Value, json};
use songnuan_tests::{TestApp, Towns, code};

const ROLES: [&str; 7] = [
    "ADMIN",
    "CASEWORKER",
    "FINANCE",
    "GRASSROOTS",
    "EVALUATOR",
    "AUDITOR",
    "INTEGRATION",
];

/// What one table row needs: ids made fresh for each role.
struct Fixture {
    root: String,
    campaign: String,
    victim: String,
    integration_user: String,
    api_token: String,
    n: usize,
}

struct Case {
    name: &'static str,
    allowed: &'static [&'static str],
    query: &'static str,
    vars: fn(&Fixture) -> Value,
}

fn in_a_year() -> String {
    (chrono::Utc::now() + chrono::Duration::days(365)).to_rfc3339()
}

const ALL: &[&str] = &ROLES;
const ADMIN: &[&str] = &["ADMIN"];
const READERS_OF_AUDIT: &[&str] = &["ADMIN", "AUDITOR"];

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "createOrganization",
            allowed: ADMIN,
            query: "mutation($i:CreateOrganizationInput!){createOrganization(input:$i){id}}",
            vars: |f| json!({"i": {"name": format!("基层工会{}", f.n), "kind": "GRASSROOTS", "parentId": f.root}}),
        },
        Case {
            name: "createUser",
            allowed: ADMIN,
            query: "mutation($i:CreateUserInput!){createUser(input:$i){id}}",
            vars: |f| json!({"i": {"username": format!("new{}", f.n), "password": "password-123", "displayName": "新用户", "roles": ["CASEWORKER"], "organizationId": f.root}}),
        },
        Case {
            name: "disableUser",
            allowed: ADMIN,
            query: "mutation($id:ID!){disableUser(id:$id){id disabled}}",
            vars: |f| json!({"id": f.victim}),
        },
        Case {
            name: "enableUser",
            allowed: ADMIN,
            query: "mutation($id:ID!){enableUser(id:$id){id disabled}}",
            vars: |f| json!({"id": f.victim}),
        },
        Case {
            name: "resetPassword",
            allowed: ADMIN,
            query: "mutation($id:ID!){resetPassword(id:$id,newPassword:\"another-pass-1\"){id}}",
            vars: |f| json!({"id": f.victim}),
        },
        Case {
            name: "createApiToken",
            allowed: ADMIN,
            query: "mutation($u:ID!,$e:DateTime!){createApiToken(userId:$u,name:\"省平台\",expiresAt:$e){token}}",
            vars: |f| json!({"u": f.integration_user, "e": in_a_year()}),
        },
        Case {
            name: "revokeApiToken",
            allowed: ADMIN,
            query: "mutation($id:ID!){revokeApiToken(id:$id){id}}",
            vars: |f| json!({"id": f.api_token}),
        },
        Case {
            name: "createCampaign",
            allowed: ADMIN,
            query: "mutation($i:CreateCampaignInput!){createCampaign(input:$i){id}}",
            vars: |_| json!({"i": {"name": "新项目", "year": 2026, "budget": "1000.00", "startsOn": "2026-01-05", "deadline": "2026-02-10"}}),
        },
        Case {
            name: "addCategory",
            allowed: ADMIN,
            query: "mutation($c:ID!,$i:CategoryInput!){addCategory(campaignId:$c,input:$i){id}}",
            vars: |f| json!({"c": f.campaign, "i": {"code": format!("EXTRA_{}", f.n), "name": "x", "recipientKind": "PERSON", "plannedCount": 1, "standardAmount": "100.00"}}),
        },
        Case {
            name: "advanceCampaign",
            allowed: ADMIN,
            query: "mutation($c:ID!){advanceCampaign(id:$c,to:SCREENING){stage}}",
            vars: |f| json!({"c": f.campaign}),
        },
        Case {
            name: "users",
            allowed: READERS_OF_AUDIT,
            query: "{users{id}}",
            vars: |_| json!({}),
        },
        Case {
            name: "auditLog",
            allowed: READERS_OF_AUDIT,
            query: "{auditLog(first:5){totalCount}}",
            vars: |_| json!({}),
        },
        Case {
            name: "verifyAuditChain",
            allowed: READERS_OF_AUDIT,
            query: "{verifyAuditChain{ok}}",
            vars: |_| json!({}),
        },
        Case {
            name: "apiTokens",
            allowed: ADMIN,
            query: "{apiTokens{id}}",
            vars: |_| json!({}),
        },
        Case {
            name: "me/organizations/campaigns",
            allowed: ALL,
            query: "{me{id} organizations{id} campaigns{id}}",
            vars: |_| json!({}),
        },
        Case {
            name: "changePassword",
            allowed: ALL,
            query: "mutation{changePassword(oldPassword:\"password-123\",newPassword:\"password-456\"){id}}",
            vars: |_| json!({}),
        },
    ]
}

#[tokio::test]
async fn every_operation_by_every_role() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let integration_user = app
        .ok(
            Some(&admin),
            "mutation($i:CreateUserInput!){createUser(input:$i){id}}",
            json!({"i": {"username": "province", "password": "password-123", "displayName": "省平台", "roles": ["INTEGRATION"], "organizationId": root}}),
        )
        .await["createUser"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut checked = 0;
    for (i, role) in ROLES.iter().enumerate() {
        let token = app.user_token(&admin, &format!("role{i}"), &[role], &root).await;
        let campaign = app.create_campaign(&admin, &format!("项目{i}")).await;
        app.add_category(&admin, &campaign, "HARDSHIP").await;
        let victim = app
            .ok(
                Some(&admin),
                "mutation($i:CreateUserInput!){createUser(input:$i){id}}",
                json!({"i": {"username": format!("victim{i}"), "password": "password-123", "displayName": "v", "roles": ["FINANCE"], "organizationId": root}}),
            )
            .await["createUser"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let api_token = app
            .ok(
                Some(&admin),
                "mutation($u:ID!,$e:DateTime!){createApiToken(userId:$u,name:\"t\",expiresAt:$e){apiToken{id}}}",
                json!({"u": integration_user, "e": in_a_year()}),
            )
            .await["createApiToken"]["apiToken"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        for (n, case) in cases().iter().enumerate() {
            let f = Fixture {
                root: root.clone(),
                campaign: campaign.clone(),
                victim: victim.clone(),
                integration_user: integration_user.clone(),
                api_token: api_token.clone(),
                n: i * 100 + n,
            };
            let before = app.audit_count().await;
            let v = app.gql(Some(&token), case.query, (case.vars)(&f)).await;
            let after = app.audit_count().await;
            if case.allowed.contains(role) {
                assert!(
                    v.get("errors").is_none(),
                    "{role} should be allowed {}: {v}",
                    case.name
                );
            } else {
                assert_eq!(
                    code(&v),
                    Some("FORBIDDEN"),
                    "{role} should be refused {}: {v}",
                    case.name
                );
                assert_eq!(
                    before, after,
                    "a refused {} by {role} wrote to the audit log",
                    case.name
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, ROLES.len() * cases().len());
    // login needs no token, for anyone
    app.login("province", "password-123").await;
}

#[tokio::test]
async fn anonymous_callers_get_unauthenticated() {
    let app = TestApp::spawn().await;
    for q in [
        "{me{id}}",
        "{organizations{id}}",
        "{campaigns{id}}",
        "{auditLog{totalCount}}",
    ] {
        let v = app.gql(None, q, json!({})).await;
        assert_eq!(code(&v), Some("UNAUTHENTICATED"), "{q}");
    }
    let v = app
        .gql(
            None,
            "mutation{createOrganization(input:{name:\"x\",kind:GRASSROOTS}){id}}",
            json!({}),
        )
        .await;
    assert_eq!(code(&v), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn grassroots_sees_only_its_subtree() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let Towns { t1, g1, t2, g2 } = app.two_towns(&admin, &root).await;
    let county = app.create_campaign(&admin, "县级项目").await;
    let create_in = |org: String, name: &'static str| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.ok(
                Some(&admin),
                "mutation($i:CreateCampaignInput!){createCampaign(input:$i){id}}",
                json!({"i": {"name": name, "year": 2025, "budget": "100.00", "startsOn": "2025-01-01", "deadline": "2025-01-02", "organizationId": org}}),
            )
            .await["createCampaign"]["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let other = create_in(t2.clone(), "大营项目").await;
    let own = create_in(g1.clone(), "环卫所项目").await;

    let gr = app.user_token(&admin, "yongding", &["GRASSROOTS"], &t1).await;
    let d = app.ok(Some(&gr), "{organizations{id}}", json!({})).await;
    let ids: Vec<&str> = d["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![t1.as_str(), g1.as_str()]);

    for hidden in [&t2, &g2] {
        let d = app
            .ok(
                Some(&gr),
                "query($id:ID!){organization(id:$id){id}}",
                json!({"id": hidden}),
            )
            .await;
        assert!(d["organization"].is_null(), "{hidden} leaked");
    }
    // its parent is visible by name, but not the parent's other children
    let d = app
        .ok(
            Some(&gr),
            "query($id:ID!){organization(id:$id){parent{id children{id}}}}",
            json!({"id": t1}),
        )
        .await;
    assert_eq!(d["organization"]["parent"]["id"], root.as_str());
    assert_eq!(d["organization"]["parent"]["children"], json!([{"id": t1}]));

    let d = app.ok(Some(&gr), "{campaigns{id}}", json!({})).await;
    let mut ids: Vec<&str> = d["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![county.as_str(), own.as_str()];
    expected.sort();
    assert_eq!(ids, expected, "county campaign and its own, not the sibling's");
    let d = app
        .ok(
            Some(&gr),
            "query($id:ID!){campaign(id:$id){id}}",
            json!({"id": other}),
        )
        .await;
    assert!(d["campaign"].is_null());

    // writing outside (or inside) is refused: GRASSROOTS manages nothing in this module
    let v = app
        .gql(
            Some(&gr),
            "mutation($p:ID!){createOrganization(input:{name:\"x\",kind:GRASSROOTS,parentId:$p}){id}}",
            json!({"p": t2}),
        )
        .await;
    assert_eq!(code(&v), Some("FORBIDDEN"));
    // an ADMIN cannot be tricked into a parent of the wrong kind
    let v = app
        .gql(
            Some(&admin),
            "mutation($p:ID!){createOrganization(input:{name:\"x\",kind:TOWN_FEDERATION,parentId:$p}){id}}",
            json!({"p": g2}),
        )
        .await;
    assert_eq!(code(&v), Some("VALIDATION"));
}
