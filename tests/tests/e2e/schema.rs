//! The served schema matches the committed `schema.graphql`, and the contract's names and
//! types (`contract/api-contract.graphql`, a copy of the frontends' contract) are all there.
use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
use std::collections::{BTreeMap, BTreeSet};

fn repo_file(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[test]
fn committed_schema_matches_the_served_one() {
    let served = api::graphql::schema_sdl();
    let committed = repo_file("schema.graphql");
    assert!(
        served == committed,
        "schema.graphql is stale: run `cargo run -p api -- schema > schema.graphql` and review the diff"
    );
}

/// field → (type, args: name → (type, default))
type Fields = BTreeMap<String, (String, BTreeMap<String, (String, Option<String>)>)>;

#[derive(Default)]
struct Ty {
    kind: &'static str,
    fields: Fields,
    values: BTreeSet<String>,
}

fn index(sdl: &str) -> BTreeMap<String, Ty> {
    let doc = parse_schema(sdl).expect("valid SDL");
    let mut out = BTreeMap::new();
    for def in doc.definitions {
        let TypeSystemDefinition::Type(t) = def else {
            continue;
        };
        let t = t.node;
        let mut ty = Ty::default();
        match t.kind {
            TypeKind::Object(o) => {
                ty.kind = "type";
                for f in o.fields {
                    let args = f
                        .node
                        .arguments
                        .iter()
                        .map(|a| {
                            (
                                a.node.name.node.to_string(),
                                (
                                    a.node.ty.node.to_string(),
                                    a.node.default_value.as_ref().map(|d| d.node.to_string()),
                                ),
                            )
                        })
                        .collect();
                    ty.fields
                        .insert(f.node.name.node.to_string(), (f.node.ty.node.to_string(), args));
                }
            }
            TypeKind::InputObject(o) => {
                ty.kind = "input";
                for f in o.fields {
                    ty.fields.insert(
                        f.node.name.node.to_string(),
                        (f.node.ty.node.to_string(), BTreeMap::new()),
                    );
                }
            }
            TypeKind::Enum(e) => {
                ty.kind = "enum";
                ty.values = e.values.iter().map(|v| v.node.value.node.to_string()).collect();
            }
            TypeKind::Scalar => ty.kind = "scalar",
            _ => ty.kind = "other",
        }
        out.insert(t.name.node.to_string(), ty);
    }
    out
}

/// What this release implements of the contract. Later modules extend these lists until they
/// cover the whole contract.
const TYPES: &[&str] = &[
    "Decimal",
    "Date",
    "DateTime",
    "Role",
    "OrgKind",
    "CampaignStage",
    "RecipientKind",
    "PageInfo",
    "User",
    "AuthPayload",
    "Organization",
    "Category",
    "Campaign",
    "CampaignProgress",
    "AuditEntry",
    "AuditEntryEdge",
    "AuditEntryConnection",
    "AuditChainReport",
    "CreateOrganizationInput",
    "CreateUserInput",
    "CreateCampaignInput",
    "CategoryInput",
    "Notice",
    "NoticeChannel",
    "NoticeStatus",
    "Job",
    "JobEdge",
    "JobConnection",
    "JobStatus",
    "Reminder",
    "ReminderLevel",
    "SurveyChannel",
    "Grade",
    "EvaluationStep",
    "NarrativeSection",
    "SurveyResponse",
    "Sample",
    "IndicatorScore",
    "Narrative",
    "Evaluation",
    "SurveyInput",
];
const QUERIES: &[&str] = &[
    "me",
    "organizations",
    "campaigns",
    "campaign",
    "auditLog",
    "verifyAuditChain",
    "jobs",
    "reminders",
    "evaluation",
    "sampleSize",
];
/// Single fields of types not listed whole in `TYPES`.
const FIELDS: &[(&str, &str)] = &[("Disbursement", "notice")];
const MUTATIONS: &[&str] = &[
    "login",
    "createOrganization",
    "createUser",
    "createCampaign",
    "addCategory",
    "advanceCampaign",
    "retryJob",
    "recordSurvey",
    "drawSample",
    "advanceEvaluation",
    "scoreIndicator",
    "setNarrative",
];

fn compare_fields(
    owner: &str,
    contract: &Fields,
    ours: &Fields,
    only: Option<&[&str]>,
    problems: &mut Vec<String>,
) {
    for (name, (ty, args)) in contract {
        if only.is_some_and(|o| !o.contains(&name.as_str())) {
            continue;
        }
        let Some((our_ty, our_args)) = ours.get(name) else {
            problems.push(format!("{owner}.{name} missing"));
            continue;
        };
        if ty != our_ty {
            problems.push(format!("{owner}.{name}: contract {ty}, served {our_ty}"));
        }
        for (arg, spec) in args {
            match our_args.get(arg) {
                None => problems.push(format!("{owner}.{name}({arg}) missing")),
                Some(s) if s != spec => {
                    problems.push(format!("{owner}.{name}({arg}): contract {spec:?}, served {s:?}"))
                }
                _ => {}
            }
        }
        for (arg, (t, _)) in our_args {
            if !args.contains_key(arg) && t.ends_with('!') {
                problems.push(format!("{owner}.{name}({arg}) is an added required argument"));
            }
        }
    }
}

#[test]
fn the_contract_is_served_with_exact_names_and_types() {
    let contract = index(&repo_file("contract/api-contract.graphql"));
    let ours = index(&api::graphql::schema_sdl());
    let mut problems = Vec::new();
    for name in TYPES {
        let c = contract
            .get(*name)
            .unwrap_or_else(|| panic!("{name} not in the contract"));
        let Some(o) = ours.get(*name) else {
            problems.push(format!("type {name} missing"));
            continue;
        };
        if c.kind != o.kind {
            problems.push(format!("{name}: contract {} served {}", c.kind, o.kind));
        }
        if c.values != o.values {
            problems.push(format!(
                "enum {name}: contract {:?} served {:?}",
                c.values, o.values
            ));
        }
        compare_fields(name, &c.fields, &o.fields, None, &mut problems);
        if o.kind == "input" {
            for (f, (t, _)) in &o.fields {
                if !c.fields.contains_key(f) && t.ends_with('!') {
                    problems.push(format!("{name}.{f} is an added required input field"));
                }
            }
        }
    }
    compare_fields(
        "Query",
        &contract["Query"].fields,
        &ours["Query"].fields,
        Some(QUERIES),
        &mut problems,
    );
    compare_fields(
        "Mutation",
        &contract["Mutation"].fields,
        &ours["Mutation"].fields,
        Some(MUTATIONS),
        &mut problems,
    );
    for (owner, field) in FIELDS {
        compare_fields(
            owner,
            &contract[*owner].fields,
            &ours[*owner].fields,
            Some(&[field]),
            &mut problems,
        );
    }
    assert!(problems.is_empty(), "contract drift:\n{}", problems.join("\n"));
}
