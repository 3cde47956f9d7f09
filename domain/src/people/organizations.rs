//! The organisation tree (county federation → town federations / system unions → grassroots
//! unions). Each row keeps its materialised path so subtree checks are a prefix match.
use crate::core::error::{DomainError, DomainResult, on_unique};
use crate::people::access::{Actor, Permission, Scope};
use crate::people::audit::{Audited, Change};
use entities::organization;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder,
};
use serde_json::json;
use std::collections::HashMap;

crate::core::codes::coded_enum! {
    pub enum OrgKind {
        Federation = "FEDERATION",
        TownFederation = "TOWN_FEDERATION",
        SystemUnion = "SYSTEM_UNION",
        Grassroots = "GRASSROOTS",
    }
}

impl OrgKind {
    /// Which parent kinds an organisation of this kind may sit under (None: may be a root).
    fn parent_allowed(self, parent: Option<OrgKind>) -> bool {
        use OrgKind::*;
        match (self, parent) {
            // A provincial or city federation sits above county federations; a root is a federation.
            (Federation, None) | (Federation, Some(Federation)) => true,
            (TownFederation | SystemUnion, Some(Federation)) => true,
            // 直属基层工会 under the county federation, or under a town federation / system union.
            (Grassroots, Some(Federation | TownFederation | SystemUnion)) => true,
            _ => false,
        }
    }
}

pub fn kind_of(m: &organization::Model) -> OrgKind {
    m.kind.parse().unwrap_or(OrgKind::Grassroots)
}

/// Trims and checks a display name (1..=max characters, no control characters).
pub fn clean_name(field: &'static str, raw: &str, max: usize) -> DomainResult<String> {
    let name = raw.trim();
    let n = name.chars().count();
    if n == 0 {
        return Err(DomainError::validation(field, "名称不能为空"));
    }
    if n > max {
        return Err(DomainError::validation(
            field,
            format!("名称不能超过 {max} 个字符"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(DomainError::validation(field, "名称含有非法字符"));
    }
    Ok(name.to_string())
}

impl Audited for organization::Model {
    const TARGET: &'static str = "Organization";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn snapshot(&self) -> serde_json::Value {
        json!({"name": self.name, "kind": self.kind, "parent_id": self.parent_id})
    }
}

/// Creates an organisation inside an open change (used by the API, bootstrap and demo data).
pub async fn insert(
    change: &mut Change,
    name: &str,
    kind: OrgKind,
    parent: Option<&organization::Model>,
) -> DomainResult<organization::Model> {
    if !kind.parent_allowed(parent.map(kind_of)) {
        return Err(DomainError::validation("parentId", "上级组织类型不符合组织层级"));
    }
    let created = organization::ActiveModel {
        name: Set(name.to_string()),
        kind: Set(kind.as_str().to_string()),
        parent_id: Set(parent.map(|p| p.id)),
        path: Set(String::new()),
        created_at: Set(change.now()),
        ..Default::default()
    }
    .insert(change.txn())
    .await
    .map_err(on_unique(|| {
        DomainError::Conflict("同一上级下已有同名组织".into())
    }))?;
    let path = format!(
        "{}{}/",
        parent.map(|p| p.path.as_str()).unwrap_or("/"),
        created.id
    );
    let mut am: organization::ActiveModel = created.into();
    am.path = Set(path);
    // One entry for the new row, with its path set (the path is not in the snapshot).
    let created = am.update(change.txn()).await?;
    change.audit_insert(&created).await?;
    Ok(created)
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    name: &str,
    kind: OrgKind,
    parent_id: Option<i64>,
) -> DomainResult<organization::Model> {
    actor.require(Permission::ManageOrganizations)?;
    let name = clean_name("name", name, 100)?;
    let mut change = Change::begin(db, Some(actor), "createOrganization").await?;
    let parent = match parent_id {
        Some(id) => Some(
            organization::Entity::find_by_id(id)
                .one(change.txn())
                .await?
                .filter(|p| actor.scope().contains_path(&p.path))
                .ok_or_else(|| DomainError::not_found("上级组织"))?,
        ),
        None => None,
    };
    // Two roots of the same name would be ambiguous in imports (NULL parents escape the index).
    if parent.is_none() {
        let dup = organization::Entity::find()
            .filter(organization::Column::ParentId.is_null())
            .filter(organization::Column::Name.eq(name.as_str()))
            .one(change.txn())
            .await?;
        if dup.is_some() {
            return Err(DomainError::Conflict("已有同名的顶级组织".into()));
        }
    }
    let created = insert(&mut change, &name, kind, parent.as_ref()).await?;
    change.commit().await?;
    Ok(created)
}

/// Ids of the organisations in the subtree under `prefix` (a materialised path), as a
/// sub-query: the one definition of "inside a GRASSROOTS caller's subtree" in SQL.
pub fn subtree_ids(prefix: &str) -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .column(organization::Column::Id)
        .from(organization::Entity)
        .and_where(organization::Column::Path.starts_with(prefix))
        .to_owned()
}

/// Every organisation the caller may list: all of them, or a GRASSROOTS caller's subtree.
pub async fn list(db: &DatabaseConnection, actor: &Actor) -> DomainResult<Vec<organization::Model>> {
    actor.require(Permission::ReadOrganizations)?;
    let mut q = organization::Entity::find().order_by_asc(organization::Column::Path);
    if let Scope::Subtree(prefix) = actor.scope() {
        q = q.filter(organization::Column::Path.starts_with(prefix));
    }
    Ok(q.all(db).await?)
}

/// One organisation, if the caller may see it (its subtree, or an ancestor by name).
pub async fn get(db: &DatabaseConnection, actor: &Actor, id: i64) -> DomainResult<organization::Model> {
    actor.require(Permission::ReadOrganizations)?;
    organization::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|o| actor.scope().can_see_path(&o.path))
        .ok_or_else(|| DomainError::not_found("组织"))
}

/// Batch load for the API's DataLoader; rows the caller may not see are left out.
pub async fn load_many(
    db: &DatabaseConnection,
    scope: &Scope,
    ids: &[i64],
) -> DomainResult<HashMap<i64, organization::Model>> {
    let rows = organization::Entity::find()
        .filter(organization::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|o| scope.can_see_path(&o.path))
        .map(|o| (o.id, o))
        .collect())
}

/// Children of several organisations at once, filtered to what the caller may see.
pub async fn children_of(
    db: &DatabaseConnection,
    scope: &Scope,
    parent_ids: &[i64],
) -> DomainResult<HashMap<i64, Vec<organization::Model>>> {
    let rows = organization::Entity::find()
        .filter(organization::Column::ParentId.is_in(parent_ids.iter().copied()))
        .order_by_asc(organization::Column::Id)
        .all(db)
        .await?;
    let mut out: HashMap<i64, Vec<organization::Model>> = HashMap::new();
    for o in rows.into_iter().filter(|o| scope.can_see_path(&o.path)) {
        out.entry(o.parent_id.unwrap_or_default()).or_default().push(o);
    }
    Ok(out)
}

pub async fn find_root<C: ConnectionTrait>(db: &C) -> DomainResult<Option<organization::Model>> {
    Ok(organization::Entity::find()
        .filter(organization::Column::ParentId.is_null())
        .order_by_asc(organization::Column::Id)
        .one(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchy_rules() {
        use OrgKind::*;
        assert!(Federation.parent_allowed(None));
        assert!(!TownFederation.parent_allowed(None));
        assert!(Grassroots.parent_allowed(Some(Federation)));
        assert!(Grassroots.parent_allowed(Some(TownFederation)));
        assert!(!Grassroots.parent_allowed(Some(Grassroots)));
        assert!(!SystemUnion.parent_allowed(Some(TownFederation)));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            clean_name("name", "  富民县总工会 ", 100).unwrap(),
            "富民县总工会"
        );
        assert_eq!(clean_name("name", "", 100).unwrap_err().code(), "VALIDATION");
        assert_eq!(
            clean_name("name", &"长".repeat(101), 100).unwrap_err().code(),
            "VALIDATION"
        );
        assert_eq!(
            clean_name("name", "a\u{0}b", 100).unwrap_err().code(),
            "VALIDATION"
        );
    }
}
