//! No N+1: a page of 200 recipients with nested fields costs a small, fixed number of SQL
//! statements, counted on an instrumented connection.
use serde_json::json;
use songnuan_tests::{TestApp, counting_connection, id_number};
use std::sync::Arc;
use std::sync::atomic::Ordering;

#[tokio::test]
async fn a_page_of_200_with_nested_fields_is_a_few_statements() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let mut orgs = Vec::new();
    for i in 0..5 {
        orgs.push(
            app.create_org(&admin, &format!("基层工会{i}"), "GRASSROOTS", Some(&root))
                .await,
        );
    }
    let c = app.screening_campaign(&admin).await;
    let categories = [
        "HARDSHIP",
        "COUNTY_HARDSHIP",
        "INJURED",
        "MODEL_WORKER",
        "NEW_EMPLOYMENT",
        "FRONTLINE",
    ];
    for n in 0..210u32 {
        let d = app
            .gql(
                Some(&admin),
                "mutation($i:NominateInput!){nominateRecipient(input:$i){id}}",
                json!({"i": {"campaignId": c, "categoryCode": categories[n as usize % 6], "kind": "PERSON",
                    "name": format!("职工{n}"), "idNumber": id_number(n), "phone": format!("1390000{n:04}"),
                    "bankAccount": format!("62284800{:08}", n % 150), "nominatedById": orgs[n as usize % 5]}}),
            )
            .await;
        assert!(d.get("errors").is_none(), "{d}");
    }

    let (db, statements) = counting_connection(&app.settings.database_url).await;
    let services = domain::Services::new(db, Arc::new(app.settings.clone()));
    let state = api::state_from(services, None);
    let actor = domain::auth::authenticate(&state.services.db, &app.settings, &admin)
        .await
        .unwrap()
        .actor;

    let query = r#"query($c:ID!){recipients(campaignId:$c, first:200){
        totalCount
        edges{ cursor node{
            id name idNumberMasked status
            category{ code name plannedCount verifiedCount servedCount }
            nominatedBy{ id name parent{ name } }
            campaign{ name budget }
            disbursements{ id amount status }
            flags
            history{ campaign{ name } }
        } }
        pageInfo{ hasNextPage endCursor }
    }}"#;
    statements.store(0, Ordering::SeqCst);
    let req =
        async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(json!({"c": c})));
    let resp = api::http::execute(&state, api::graphql::Caller::Known(actor), "test".into(), req).await;
    assert!(resp.errors.is_empty(), "{:?}", resp.errors);
    let data = resp.data.into_json().unwrap();
    assert_eq!(data["recipients"]["edges"].as_array().unwrap().len(), 200);
    assert_eq!(data["recipients"]["totalCount"], 210);
    assert!(
        data["recipients"]["edges"][0]["node"]["flags"]
            .as_array()
            .is_some()
    );
    let n = statements.load(Ordering::SeqCst);
    // campaign check, count, page, + one batch per loader (category, org, parent org, campaign,
    // disbursements, counts, flags, history): independent of the page size.
    assert!(n <= 20, "{n} statements for a page of 200");
    assert!(n >= 5, "the counter counts ({n})");

    // Without `totalCount` the filter is not counted: exactly one statement fewer.
    let actor = domain::auth::authenticate(&state.services.db, &app.settings, &admin)
        .await
        .unwrap()
        .actor;
    statements.store(0, Ordering::SeqCst);
    let req = async_graphql::Request::new(query.replacen("totalCount", "", 1))
        .variables(async_graphql::Variables::from_json(json!({"c": c})));
    let resp = api::http::execute(&state, api::graphql::Caller::Known(actor), "test".into(), req).await;
    assert!(resp.errors.is_empty(), "{:?}", resp.errors);
    assert_eq!(statements.load(Ordering::SeqCst), n - 1);
}
