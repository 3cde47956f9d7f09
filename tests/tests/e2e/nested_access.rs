//! One access rule per field, whatever the path (issue 9, point 4). What a role cannot read at
//! the root — a campaign `campaign(id)` refuses it, a list root that is FORBIDDEN to it — is not
//! returned when reached through nesting (a recipient's history, its disbursements, a
//! disbursement's recipient, a fragment, an alias), and GRASSROOTS never sees bank or provincial
//! references anywhere.
//!
//! The walker is built from introspection of the live schema: every object type reachable from
//! the Query roots, through every nesting path up to a bounded depth, for every role. A new
//! field or type is covered without touching this file; a new root with a required argument of
//! a kind the walker cannot fill is reported (see `values_for`).
use futures::StreamExt;
use serde_json::{Map, Value, json};
use songnuan_tests::{TestApp, Towns, code, id_number};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const ROLES: [&str; 7] = [
    "ADMIN",
    "CASEWORKER",
    "FINANCE",
    "GRASSROOTS",
    "EVALUATOR",
    "AUDITOR",
    "INTEGRATION",
];

const BANK_REF_OWN: &str = "BANKREF-OWN-0127";
const BANK_REF_OTHER: &str = "BANKREF-OTHER-0127";
const PROVINCIAL_REF: &str = "PROVREF-YN-2025-0001";
const HIDDEN_NAME: &str = "大营街道2024年内部慰问项目";
const HIDDEN_BUDGET: &str = "98765.43";
const OTHER_NAME: &str = "职工45";
const PAID_ON: &str = "2025-01-27";

/// What GRASSROOTS may read of the objects whose root lists are FORBIDDEN to it, when it reaches
/// them through its own nominees: whether and how much they were helped — never the bank or
/// provincial references, nor the entry and notice trail. Every other field must be null.
fn nested_allowance(role: &str, ty: &str) -> Option<&'static [&'static str]> {
    match (role, ty) {
        ("GRASSROOTS", "Disbursement") => Some(&[
            "id",
            "recipient",
            "kind",
            "amount",
            "status",
            "paidOn",
            // Non-null in the schema; says nothing about money, references or the person.
            "entryDeadlineProvisional",
        ]),
        _ => None,
    }
}

/// Strings that must never reach a GRASSROOTS caller of the union 永定环卫所工会, in any answer.
const SECRETS_FROM_GRASSROOTS: [&str; 6] = [
    BANK_REF_OWN,
    BANK_REF_OTHER,
    PROVINCIAL_REF,
    HIDDEN_NAME,
    HIDDEN_BUDGET,
    OTHER_NAME,
];

// ---------------------------------------------------------------------------------------------
// The world: a county with two streets; a campaign of the other street (invisible to our
// grassroots union), an earlier county campaign, and this year's county campaign taken to paid,
// confirmed and entered disbursements, with a contract and a visit.
// ---------------------------------------------------------------------------------------------

struct World {
    /// (role, token); GRASSROOTS belongs to 永定环卫所工会 (G1), the others to the federation.
    tokens: Vec<(&'static str, String)>,
    hidden: String,
    prev: String,
    now: String,
    /// Person 42 nominated by G1 in the earlier county campaign and in this year's.
    own_prev: String,
    own_now: String,
    /// Person 45 nominated by the other street's union (G2) this year.
    other_now: String,
    /// Person 42 in the other street's campaign (nominated by G2), person 44 there by G1.
    hidden_42: String,
    hidden_44: String,
}

impl World {
    fn token(&self, role: &str) -> &str {
        &self.tokens.iter().find(|(r, _)| *r == role).expect("role").1
    }
}

async fn create_campaign(
    app: &TestApp,
    admin: &str,
    name: &str,
    year: i32,
    budget: &str,
    starts: &str,
    org: Option<&str>,
) -> String {
    let d = app
        .ok(
            Some(admin),
            "mutation($i:CreateCampaignInput!){createCampaign(input:$i){id}}",
            json!({"i": {"name": name, "year": year, "budget": budget, "startsOn": starts,
                         "deadline": format!("{year}-01-28"), "organizationId": org}}),
        )
        .await;
    let id = d["createCampaign"]["id"].as_str().unwrap().to_string();
    app.add_category(admin, &id, "HARDSHIP").await;
    app.advance(admin, &id, "SCREENING").await;
    id
}

/// Person `n` with phone and bank account, nominated by `org`.
async fn nominate(app: &TestApp, token: &str, campaign: &str, org: &str, n: u32) -> String {
    let d = app
        .ok(
            Some(token),
            "mutation($i:NominateInput!){nominateRecipient(input:$i){id}}",
            json!({"i": {"campaignId": campaign, "categoryCode": "HARDSHIP", "kind": "PERSON",
                         "name": format!("职工{n}"), "idNumber": id_number(n), "phone": format!("1390000{n:04}"),
                         "bankName": "农业银行富民支行", "bankAccount": format!("62284800{n:08}"), "nominatedById": org}}),
        )
        .await;
    d["nominateRecipient"]["id"].as_str().unwrap().to_string()
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let Towns { g1, t2, g2, .. } = app.two_towns(&admin, &root).await;
    let caseworker = app.user_token(&admin, "helpcentre", &["CASEWORKER"], &root).await;
    let finance = app.user_token(&admin, "finance", &["FINANCE"], &root).await;

    // The other street's campaign: GRASSROOTS of G1 may not read it (`campaign(id)` is null).
    let hidden = create_campaign(
        app,
        &admin,
        HIDDEN_NAME,
        2024,
        HIDDEN_BUDGET,
        "2024-01-10",
        Some(&t2),
    )
    .await;
    let hidden_42 = nominate(app, &caseworker, &hidden, &g2, 42).await;
    let hidden_44 = nominate(app, &caseworker, &hidden, &g1, 44).await;
    // An earlier county campaign (visible to everyone) where G1 nominated the same person.
    let prev = create_campaign(app, &admin, "2024年送温暖", 2024, "1000.00", "2024-01-12", None).await;
    let own_prev = nominate(app, &caseworker, &prev, &g1, 42).await;
    // This year's county campaign, taken to paid, confirmed and entered disbursements.
    let now = create_campaign(app, &admin, "2025年送温暖", 2025, "150000.00", "2025-01-15", None).await;
    let own_now = nominate(app, &caseworker, &now, &g1, 42).await;
    let other_now = nominate(app, &caseworker, &now, &g2, 45).await;
    for r in [&own_now, &other_now] {
        app.ok(
            Some(&caseworker),
            "mutation($id:ID!){verifyRecipient(id:$id,method:HOME_VISIT){id}}",
            json!({"id": r}),
        )
        .await;
    }
    app.advance(&admin, &now, "PROCUREMENT").await;
    app.fund(&finance, &now, "150000.00").await;
    let supplier = app
        .ok(
            Some(&finance),
            "mutation($i:SupplierInput!){createSupplier(input:$i){id}}",
            json!({"i": {"name": "昆明惠民商贸有限公司", "creditCode": "91350100M000100Y43", "contact": "李经理"}}),
        )
        .await["createSupplier"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.ok(
        Some(&finance),
        "mutation($i:ContractInput!){createContract(input:$i){id}}",
        json!({"i": {"campaignId": now, "supplierId": supplier, "reference": "FMZC-2025-001",
                     "signedOn": "2025-01-10", "deliveryDate": "2025-01-20", "afterSaleTerms": "质量问题七日内包退换",
                     "lines": [{"item": "大米 10kg", "quantity": 10, "unitPrice": "50.00"}]}}),
    )
    .await;
    app.advance(&admin, &now, "DISTRIBUTION").await;
    let d_own = app
        .pay_cash(&caseworker, &finance, &own_now, "500.00", BANK_REF_OWN, PAID_ON)
        .await;
    let d_other = app
        .pay_cash(
            &caseworker,
            &finance,
            &other_now,
            "300.00",
            BANK_REF_OTHER,
            PAID_ON,
        )
        .await;
    app.ok(
        Some(&caseworker),
        "mutation($ids:[ID!]!,$r:String!){markEntered(ids:$ids,provincialRef:$r){id}}",
        json!({"ids": [d_own, d_other], "r": PROVINCIAL_REF}),
    )
    .await;
    app.ok(
        Some(&caseworker),
        "mutation($id:ID!){confirmReceipt(id:$id,confirmedOn:\"2025-01-28\"){id}}",
        json!({"id": d_own}),
    )
    .await;
    app.ok(
        Some(&caseworker),
        "mutation($i:VisitInput!){recordVisit(input:$i){id}}",
        json!({"i": {"campaignId": now, "visitedOn": "2025-01-20", "team": "县总工会慰问组",
                     "participants": 3, "vehicles": 1, "recipientIds": [own_now, other_now]}}),
    )
    .await;

    // Under review: the campaign's evaluation exists and is walked too.
    app.advance(&admin, &now, "REVIEW").await;

    let mut tokens = vec![("ADMIN", admin.clone())];
    for role in ROLES.iter().filter(|r| **r != "ADMIN") {
        let org = if *role == "GRASSROOTS" { &g1 } else { &root };
        let t = app
            .user_token(&admin, &format!("nested-{}", role.to_lowercase()), &[role], org)
            .await;
        tokens.push((role, t));
    }
    // An API token of the provincial platform, so `apiTokens` has something to walk.
    let integration = &tokens.iter().find(|(r, _)| *r == "INTEGRATION").unwrap().1;
    let platform = app.ok(Some(integration), "{me{id}}", json!({})).await["me"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.ok(
        Some(&admin),
        "mutation($u:ID!,$e:DateTime!){createApiToken(userId:$u,name:\"省平台\",expiresAt:$e){token}}",
        json!({"u": platform, "e": (chrono::Utc::now() + chrono::Duration::days(365)).to_rfc3339()}),
    )
    .await;
    World {
        tokens,
        hidden,
        prev,
        now,
        own_prev,
        own_now,
        other_now,
        hidden_42,
        hidden_44,
    }
}

// ---------------------------------------------------------------------------------------------
// 1. The two leaks the hostile tester found, as they were reported (and through a fragment and
//    aliases).
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn grassroots_sees_whether_and_how_much_its_nominees_were_helped_and_nothing_more() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let gr = w.token("GRASSROOTS");

    // At the root: the other street's campaign does not exist for it, the money lists are
    // FORBIDDEN.
    let d = app
        .ok(
            Some(gr),
            "query($id:ID!){campaign(id:$id){id}}",
            json!({"id": w.hidden}),
        )
        .await;
    assert!(d["campaign"].is_null(), "{d}");
    // … nor does what its own union nominated there.
    let d = app
        .ok(
            Some(gr),
            "query($id:ID!){recipient(id:$id){id campaign{name}}}",
            json!({"id": w.hidden_44}),
        )
        .await;
    assert!(d["recipient"].is_null(), "{d}");
    let v = app
        .gql(
            Some(gr),
            "query($c:ID!){disbursements(campaignId:$c){edges{node{id bankReference}}}}",
            json!({"c": w.now}),
        )
        .await;
    assert_eq!(code(&v), Some("FORBIDDEN"), "{v}");

    // Nested: its nominee's history and disbursements.
    let query = "query($id:ID!){recipient(id:$id){
        history{ campaign{ id name budget categories{ name } progress{ spent committed } } status helped }
        disbursements{ id status kind amount paidOn bankReference provincialRef enteredAt entryDeadline notifiedAt confirmedOn items }
    }}";
    let v = app.gql(Some(gr), query, json!({"id": w.own_now})).await;
    let text = v.to_string();
    for secret in SECRETS_FROM_GRASSROOTS {
        assert!(!text.contains(secret), "GRASSROOTS got {secret:?}: {v}");
    }
    let r = &v["data"]["recipient"];
    let history: Vec<&str> = r["history"]
        .as_array()
        .unwrap_or_else(|| panic!("history: {v}"))
        .iter()
        .map(|h| h["campaign"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        vec![w.prev.as_str()],
        "only the earlier campaign it may read: {v}"
    );
    let d = &r["disbursements"][0];
    assert_eq!(
        (&d["status"], &d["kind"], &d["amount"], &d["paidOn"]),
        (
            &json!("CONFIRMED"),
            &json!("CASH"),
            &json!("500.00"),
            &json!(PAID_ON)
        ),
        "whether and how much: {v}"
    );
    for refused in [
        "bankReference",
        "provincialRef",
        "enteredAt",
        "entryDeadline",
        "notifiedAt",
        "confirmedOn",
        "items",
    ] {
        assert!(d[refused].is_null(), "{refused}: {v}");
        let err = v["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["path"].as_array().and_then(|p| p.last()) == Some(&json!(refused)));
        // A refusal is an error (the contract), even where the value would be null anyway
        // (`items` of a CASH payment).
        let err = err.unwrap_or_else(|| panic!("no FORBIDDEN error on {refused}: {v}"));
        assert_eq!(err["extensions"]["code"], "FORBIDDEN", "{v}");
    }

    // The same through a fragment, an inline fragment and aliases.
    let v = app
        .gql(
            Some(gr),
            "fragment Money on Disbursement { ref: bankReference prov: provincialRef how: amount }
             query($id:ID!){ who: recipient(id:$id){ ... on Recipient {
                 paid: disbursements { ...Money }
                 before: history { c: campaign { n: name b: budget } } } } }",
            json!({"id": w.own_now}),
        )
        .await;
    let text = v.to_string();
    for secret in SECRETS_FROM_GRASSROOTS {
        assert!(!text.contains(secret), "GRASSROOTS got {secret:?}: {v}");
    }
    assert_eq!(v["data"]["who"]["paid"][0]["how"], "500.00", "{v}");
    assert!(v["data"]["who"]["paid"][0]["ref"].is_null(), "{v}");
    assert_eq!(
        v["data"]["who"]["before"].as_array().map(Vec::len),
        Some(1),
        "{v}"
    );

    // The control: a reading role gets all of it through the same query.
    let v = app
        .ok(Some(w.token("AUDITOR")), query, json!({"id": w.own_now}))
        .await;
    assert_eq!(v["recipient"]["history"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(v["recipient"]["disbursements"][0]["bankReference"], BANK_REF_OWN);
    assert_eq!(
        v["recipient"]["disbursements"][0]["provincialRef"],
        PROVINCIAL_REF
    );
    assert!(v.to_string().contains(HIDDEN_NAME));
}

// ---------------------------------------------------------------------------------------------
// 2. Every object type, every role, every nesting path from the roots (bounded).
// ---------------------------------------------------------------------------------------------

/// Fields after the root field: enough for a connection's edges and node plus five hops.
const MAX_NESTING: usize = 7;

struct Field {
    name: String,
    /// The named type (lists and non-null unwrapped).
    ty: String,
    nullable: bool,
    args: Vec<Arg>,
}

struct Arg {
    name: String,
    ty: String,
    required: bool,
}

struct Schema {
    kinds: HashMap<String, String>,
    fields: HashMap<String, Vec<Field>>,
    enums: HashMap<String, Vec<String>>,
    query: String,
}

const INTROSPECTION: &str = "{ __schema { queryType { name } types { name kind enumValues { name }
    fields { name type { ...T } args { name defaultValue type { ...T } } } } } }
    fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

fn base_name(t: &Value) -> String {
    let mut t = t;
    while t["name"].is_null() {
        assert!(
            !t["ofType"].is_null(),
            "a type wrapped deeper than INTROSPECTION asks"
        );
        t = &t["ofType"];
    }
    t["name"].as_str().expect("type name").to_string()
}

impl Schema {
    async fn load(app: &TestApp, token: &str) -> Schema {
        let d = app.ok(Some(token), INTROSPECTION, json!({})).await;
        let mut s = Schema {
            kinds: HashMap::new(),
            fields: HashMap::new(),
            enums: HashMap::new(),
            query: d["__schema"]["queryType"]["name"].as_str().unwrap().to_string(),
        };
        for t in d["__schema"]["types"].as_array().unwrap() {
            let name = t["name"].as_str().unwrap().to_string();
            s.kinds
                .insert(name.clone(), t["kind"].as_str().unwrap().to_string());
            if let Some(values) = t["enumValues"].as_array() {
                s.enums.insert(
                    name.clone(),
                    values
                        .iter()
                        .map(|v| v["name"].as_str().unwrap().to_string())
                        .collect(),
                );
            }
            let Some(fields) = t["fields"].as_array() else {
                continue;
            };
            let fields = fields
                .iter()
                .map(|f| Field {
                    name: f["name"].as_str().unwrap().to_string(),
                    ty: base_name(&f["type"]),
                    nullable: f["type"]["kind"] != "NON_NULL",
                    args: f["args"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|a| Arg {
                            name: a["name"].as_str().unwrap().to_string(),
                            ty: base_name(&a["type"]),
                            required: a["type"]["kind"] == "NON_NULL" && a["defaultValue"].is_null(),
                        })
                        .collect(),
                })
                .collect();
            s.fields.insert(name, fields);
        }
        s
    }

    fn kind(&self, ty: &str) -> &str {
        self.kinds.get(ty).map(String::as_str).unwrap_or("")
    }

    fn is_object(&self, ty: &str) -> bool {
        self.kind(ty) == "OBJECT" && !ty.starts_with("__")
    }

    /// An object with an identity: what access rules are about.
    fn is_entity(&self, ty: &str) -> bool {
        self.fields[ty].iter().any(|f| f.name == "id")
    }

    fn field(&self, ty: &str, name: &str) -> &Field {
        self.fields[ty].iter().find(|f| f.name == name).expect("field")
    }

    fn callable(f: &Field) -> bool {
        !f.args.iter().any(|a| a.required)
    }

    /// Scalar and enum fields (no required arguments): selected at every level of a path.
    fn leaves(&self, ty: &str) -> Vec<&str> {
        self.fields[ty]
            .iter()
            .filter(|f| matches!(self.kind(&f.ty), "SCALAR" | "ENUM") && Self::callable(f))
            .map(|f| f.name.as_str())
            .collect()
    }

    fn object_fields(&self, ty: &str) -> Vec<&Field> {
        self.fields[ty]
            .iter()
            .filter(|f| self.is_object(&f.ty) && Self::callable(f))
            .collect()
    }

    fn roots(&self) -> &[Field] {
        &self.fields[&self.query]
    }

    /// The object types with an identity that a root lists: reached from its type through
    /// objects without one (connections, edges, a ledger's totals).
    fn entities_of(&self, ty: &str, seen: &mut BTreeSet<String>, out: &mut BTreeSet<String>) {
        if !self.is_object(ty) || !seen.insert(ty.to_string()) {
            return;
        }
        if self.is_entity(ty) {
            out.insert(ty.to_string());
            return;
        }
        for f in self.object_fields(ty) {
            self.entities_of(&f.ty, seen, out);
        }
    }

    /// Roots `T(id: ID!): T` (nullable): the root's own word on which `T` a caller may read.
    fn getters(&self) -> BTreeMap<String, String> {
        self.roots()
            .iter()
            .filter(|f| {
                self.is_object(&f.ty)
                    && self.is_entity(&f.ty)
                    && f.nullable
                    && f.args.iter().filter(|a| a.required).count() == 1
                    && f.args
                        .iter()
                        .any(|a| a.required && a.name == "id" && a.ty == "ID")
            })
            .map(|f| (f.ty.clone(), f.name.clone()))
            .collect()
    }

    /// Maximal paths (field names) below an object of type `ty`; each field of each type at
    /// most once per path, at most `MAX_NESTING` fields.
    fn paths(&self, ty: &str, prefix: &mut Vec<(String, String)>, out: &mut Vec<Vec<String>>) {
        let next: Vec<&Field> = if prefix.len() >= MAX_NESTING {
            Vec::new()
        } else {
            self.object_fields(ty)
                .into_iter()
                .filter(|f| !prefix.iter().any(|(t, n)| t == ty && *n == f.name))
                .collect()
        };
        if next.is_empty() {
            out.push(prefix.iter().map(|(_, n)| n.clone()).collect());
            return;
        }
        for f in next {
            prefix.push((ty.to_string(), f.name.clone()));
            self.paths(&f.ty, prefix, out);
            prefix.pop();
        }
    }

    /// `__typename`, every leaf, and the next field of the path.
    fn selection(&self, ty: &str, path: &[String]) -> String {
        let mut s = String::from("__typename");
        for l in self.leaves(ty) {
            s.push(' ');
            s.push_str(l);
        }
        if let Some((first, rest)) = path.split_first() {
            let f = self.field(ty, first);
            s.push_str(&format!(" {first} {{ {} }}", self.selection(&f.ty, rest)));
        }
        s
    }

    /// Values to call a root with: every combination of its required arguments' values
    /// (optional ones keep their defaults). Empty when an argument has no value yet.
    fn calls(&self, root: &Field, ids: &Ids) -> Vec<String> {
        let mut sets = vec![Vec::<String>::new()];
        for a in root.args.iter().filter(|a| a.required) {
            let values = self.values_for(root, a, ids);
            sets = sets
                .iter()
                .flat_map(|s| {
                    values.iter().map(move |v| {
                        let mut s = s.clone();
                        s.push(format!("{}: {v}", a.name));
                        s
                    })
                })
                .collect();
        }
        sets.into_iter()
            .map(|s| {
                if s.is_empty() {
                    String::new()
                } else {
                    format!("({})", s.join(", "))
                }
            })
            .collect()
    }

    fn values_for(&self, root: &Field, a: &Arg, ids: &Ids) -> Vec<String> {
        let quoted = |ty: &str| -> Vec<String> {
            ids.get(ty)
                .map(|s| s.iter().map(|i| format!("\"{i}\"")).collect())
                .unwrap_or_default()
        };
        match (a.name.as_str(), a.ty.as_str()) {
            ("id", "ID") => quoted(&root.ty),
            // campaignId → Campaign, recipientId → Recipient, …
            (n, "ID") if n.ends_with("Id") => {
                let t = &n[..n.len() - 2];
                quoted(&format!("{}{}", t[..1].to_uppercase(), &t[1..]))
            }
            ("year", "Int") => vec!["2025".into()],
            ("days", "Int") => vec!["30".into()],
            (_, "Int") => vec!["1".into()],
            (_, "Float") => vec!["0.9".into()],
            (_, "Boolean") => vec!["true".into()],
            (_, "String") => vec!["\"x\"".into()],
            (_, "Date") => vec![format!("\"{PAID_ON}\"")],
            (_, "DateTime") => vec!["\"2025-01-27T00:00:00Z\"".into()],
            (_, "Decimal") => vec!["\"1.00\"".into()],
            (_, t) if self.kind(t) == "ENUM" => vec![self.enums[t][0].clone()],
            (n, t) => panic!(
                "Query.{}({n}: {t}!): the walker has no value for this argument; teach `values_for`",
                root.name
            ),
        }
    }
}

type Ids = BTreeMap<String, BTreeSet<String>>;

/// Every GraphQL object in an answer (each selection carries `__typename`).
fn objects<'a>(v: &'a Value, out: &mut Vec<&'a Map<String, Value>>) {
    match v {
        Value::Object(m) => {
            if m.contains_key("__typename") {
                out.push(m);
            }
            for x in m.values() {
                objects(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| objects(x, out)),
        _ => {}
    }
}

fn collect_ids(answer: &Value, ids: &mut Ids) -> usize {
    let mut objs = Vec::new();
    objects(&answer["data"], &mut objs);
    let mut new = 0;
    for o in objs {
        if let (Some(t), Some(id)) = (o["__typename"].as_str(), o.get("id").and_then(Value::as_str))
            && ids.entry(t.to_string()).or_default().insert(id.to_string())
        {
            new += 1;
        }
    }
    new
}

/// Object types on the way of `path` below `ty`.
fn types_on(schema: &Schema, ty: &str, path: &[String], out: &mut BTreeSet<String>) {
    out.insert(ty.to_string());
    if let Some((first, rest)) = path.split_first() {
        types_on(schema, &schema.field(ty, first).ty, rest, out);
    }
}

/// Every object type the Query roots lead to (unbounded), and those the bounded paths visit:
/// the bound must not hide a type.
fn coverage(schema: &Schema) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut reachable = BTreeSet::new();
    let mut todo: Vec<String> = schema
        .roots()
        .iter()
        .filter(|r| schema.is_object(&r.ty))
        .map(|r| r.ty.clone())
        .collect();
    while let Some(t) = todo.pop() {
        if reachable.insert(t.clone()) {
            todo.extend(schema.object_fields(&t).into_iter().map(|f| f.ty.clone()));
        }
    }
    let mut walked = BTreeSet::new();
    for root in schema.roots().iter().filter(|r| schema.is_object(&r.ty)) {
        let mut paths = Vec::new();
        schema.paths(&root.ty, &mut Vec::new(), &mut paths);
        for p in paths {
            types_on(schema, &root.ty, &p, &mut walked);
        }
    }
    (reachable, walked)
}

/// One query per (root, arguments, maximal path), every level selecting all its leaves.
fn walk_queries(schema: &Schema, ids: &Ids) -> Vec<String> {
    let mut out = Vec::new();
    for root in schema.roots() {
        for args in schema.calls(root, ids) {
            if !schema.is_object(&root.ty) {
                out.push(format!("{{ r: {}{args} }}", root.name));
                continue;
            }
            let mut paths = Vec::new();
            schema.paths(&root.ty, &mut Vec::new(), &mut paths);
            for p in paths {
                out.push(format!(
                    "{{ r: {}{args} {{ {} }} }}",
                    root.name,
                    schema.selection(&root.ty, &p)
                ));
            }
        }
    }
    out
}

async fn run_all(app: &TestApp, token: &str, queries: Vec<String>) -> Vec<(String, Value)> {
    futures::stream::iter(queries)
        .map(|q| async move {
            let v = app.gql(Some(token), &q, json!({})).await;
            (q, v)
        })
        .buffered(6)
        .collect()
        .await
}

/// Errors of a walk answer: a document error (no path) means the walker built a bad query; the
/// root call itself may refuse (the caller, or an argument value the walker guessed); below the
/// root only access refusals are expected, and none at all for ADMIN.
fn check_errors(role: &str, q: &str, v: &Value) {
    for e in v["errors"].as_array().into_iter().flatten() {
        let code = e["extensions"]["code"].as_str().unwrap_or("?");
        match e["path"].as_array().map(Vec::len) {
            None | Some(0) => panic!("{role}: the walk sent a query the server refuses ({code}): {q}\n{v}"),
            Some(1) => {}
            Some(_) => assert!(
                role != "ADMIN" && (code == "FORBIDDEN" || code == "NOT_FOUND"),
                "{role}: {code} below the root is not an access refusal: {q}\n{v}"
            ),
        }
    }
}

/// How a root answers a role: `Some(true)` readable, `Some(false)` FORBIDDEN, `None` neither
/// for every call (e.g. NOT_FOUND), or no call could be made.
async fn root_access(app: &TestApp, schema: &Schema, token: &str, root: &Field, ids: &Ids) -> Option<bool> {
    let mut forbidden = 0;
    let calls = schema.calls(root, ids);
    for args in &calls {
        let sel = if schema.is_object(&root.ty) {
            " { __typename }"
        } else {
            ""
        };
        let v = app
            .gql(
                Some(token),
                &format!("{{ r: {}{args}{sel} }}", root.name),
                json!({}),
            )
            .await;
        if v.get("errors").is_none() {
            return Some(true);
        }
        if code(&v) == Some("FORBIDDEN") {
            forbidden += 1;
        }
    }
    (!calls.is_empty() && forbidden == calls.len()).then_some(false)
}

#[tokio::test]
async fn every_object_type_through_every_path_for_every_role() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let admin = w.token("ADMIN");
    let schema = Schema::load(&app, admin).await;
    for (ty, kind) in &schema.kinds {
        assert!(
            !matches!(kind.as_str(), "INTERFACE" | "UNION") || ty.starts_with("__"),
            "{ty} is an {kind}: teach the walker fragments on it"
        );
    }

    let (reachable, walked) = coverage(&schema);
    assert!(
        reachable.is_subset(&walked),
        "types the bounded walk never visits: {:?} (raise MAX_NESTING)",
        reachable.difference(&walked).collect::<Vec<_>>()
    );
    let unreachable: Vec<&String> = schema
        .kinds
        .iter()
        .filter(|(t, _)| schema.is_object(t) && *t != &schema.query && !reachable.contains(*t))
        .map(|(t, _)| t)
        .collect();
    eprintln!("object types only mutations answer with (not walked): {unreachable:?}");

    // Every id the ADMIN can reach, to call the roots with (until nothing new turns up).
    let mut ids = Ids::new();
    let mut admin_answers;
    loop {
        admin_answers = run_all(&app, admin, walk_queries(&schema, &ids)).await;
        let new: usize = admin_answers.iter().map(|(_, v)| collect_ids(v, &mut ids)).sum();
        if new == 0 {
            break;
        }
    }
    let admin_text: String = admin_answers.iter().map(|(_, v)| v.to_string()).collect();
    for secret in SECRETS_FROM_GRASSROOTS {
        assert!(
            admin_text.contains(secret),
            "the walker never reaches {secret:?}: the test would prove nothing"
        );
    }

    let getters = schema.getters();
    let mut listing: BTreeMap<String, Vec<&Field>> = BTreeMap::new();
    for root in schema.roots() {
        let mut out = BTreeSet::new();
        schema.entities_of(&root.ty, &mut BTreeSet::new(), &mut out);
        for t in out {
            listing.entry(t).or_default().push(root);
        }
    }

    let mut checked_objects = 0usize;
    let mut seen_types: BTreeSet<String> = BTreeSet::new();
    let mut queries_run = 0usize;
    for (role, token) in &w.tokens {
        // What the role may read at the root: which T its `T(id)` roots answer, and the types
        // every root listing them refuses.
        let mut readable: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for (ty, getter) in &getters {
            let mut set = BTreeSet::new();
            for id in ids.get(ty).into_iter().flatten() {
                let d = app
                    .ok(
                        Some(token),
                        &format!("{{ r: {getter}(id: \"{id}\") {{ id }} }}"),
                        json!({}),
                    )
                    .await;
                if !d["r"].is_null() {
                    set.insert(id.clone());
                }
            }
            readable.insert(ty, set);
        }
        let mut access: HashMap<&str, Option<bool>> = HashMap::new();
        for root in schema.roots() {
            access.insert(&root.name, root_access(&app, &schema, token, root, &ids).await);
        }
        let forbidden: BTreeSet<&str> = listing
            .iter()
            .filter(|(_, roots)| roots.iter().all(|r| access[r.name.as_str()] == Some(false)))
            .map(|(t, _)| t.as_str())
            .collect();

        if *role == "GRASSROOTS" {
            // The world is what the test means it to be.
            assert_eq!(
                readable["Campaign"],
                BTreeSet::from([w.prev.clone(), w.now.clone()]),
                "campaigns GRASSROOTS reads at the root"
            );
            // Not person 44, though its own union nominated it: the campaign is the other
            // street's.
            assert_eq!(
                readable["Recipient"],
                BTreeSet::from([w.own_prev.clone(), w.own_now.clone()]),
                "recipients GRASSROOTS reads at the root"
            );
            for t in ["Disbursement", "LedgerEntry", "Visit", "Contract"] {
                assert!(
                    forbidden.contains(t),
                    "{t} should be FORBIDDEN at the root: {forbidden:?}"
                );
            }
        } else {
            assert!(!forbidden.contains("Disbursement"), "{role} reads disbursements");
            assert!(readable["Campaign"].contains(&w.hidden), "{role}");
            for r in [&w.other_now, &w.hidden_42, &w.hidden_44] {
                assert!(readable["Recipient"].contains(r), "{role} reads recipient {r}");
            }
        }

        let answers = if *role == "ADMIN" {
            std::mem::take(&mut admin_answers)
        } else {
            run_all(&app, token, walk_queries(&schema, &ids)).await
        };
        queries_run += answers.len();
        let mut helped_seen = false;
        let mut history_seen = false;
        for (q, v) in &answers {
            check_errors(role, q, v);
            if *role == "GRASSROOTS" {
                let text = v.to_string();
                for secret in SECRETS_FROM_GRASSROOTS {
                    assert!(
                        !text.contains(secret),
                        "GRASSROOTS got {secret:?} through {q}\n{v}"
                    );
                }
            }
            let mut objs = Vec::new();
            objects(&v["data"], &mut objs);
            for o in objs {
                checked_objects += 1;
                let ty = o["__typename"].as_str().unwrap();
                seen_types.insert(ty.to_string());
                if let Some(set) = readable.get(ty) {
                    let id = o["id"].as_str().unwrap_or_default();
                    assert!(
                        set.contains(id),
                        "{role} got {ty} {id} through {q}, though {}(id) refuses it\n{v}",
                        getters[ty]
                    );
                }
                if forbidden.contains(ty) {
                    let Some(allowed) = nested_allowance(role, ty) else {
                        panic!(
                            "{role} got a {ty} through {q}, though every root listing {ty} is FORBIDDEN to it\n{v}"
                        );
                    };
                    for (k, val) in o {
                        assert!(
                            k == "__typename" || allowed.contains(&k.as_str()) || val.is_null(),
                            "{role} got {ty}.{k} = {val} through {q}, though the root is FORBIDDEN to it\n{v}"
                        );
                    }
                }
                if *role == "GRASSROOTS" && ty == "Disbursement" {
                    helped_seen |= o["amount"] == "500.00"
                        && o["status"] == "CONFIRMED"
                        && o["kind"] == "CASH"
                        && o["paidOn"] == PAID_ON;
                }
                if *role == "GRASSROOTS" && ty == "RecipientHistory" {
                    history_seen |= o.get("campaign").and_then(|c| c["id"].as_str()) == Some(w.prev.as_str());
                }
            }
        }
        if *role == "GRASSROOTS" {
            assert!(
                helped_seen,
                "GRASSROOTS must see that and how much its nominee was helped"
            );
            assert!(
                history_seen,
                "GRASSROOTS must see its nominee's earlier county campaign"
            );
        }
    }
    let seen: BTreeSet<&str> = seen_types.iter().map(String::as_str).collect();
    eprintln!(
        "nested access: {queries_run} queries, {checked_objects} objects checked; types walked \
         but empty in this world: {:?}",
        walked
            .iter()
            .filter(|t| !seen.contains(t.as_str()))
            .collect::<Vec<_>>()
    );
    assert!(
        checked_objects > 1000,
        "{checked_objects} objects: the walk walked nothing"
    );
}
