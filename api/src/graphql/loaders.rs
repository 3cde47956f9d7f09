//! Every DataLoader of the API, registered in one place (`attach`). Loaders are made per
//! request with the caller's scope, so batching never leaks rows across callers.
use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use domain::{DomainError, Scope, Services};
use entities::{campaign, category, disbursement, notice, organization, recipient, user};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

pub type LoadError = Arc<DomainError>;

pub struct OrgLoader {
    services: Services,
    scope: Scope,
}

impl Loader<i64> for OrgLoader {
    type Value = organization::Model;
    type Error = LoadError;
    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        domain::organizations::load_many(&self.services.db, &self.scope, keys)
            .await
            .map_err(Arc::new)
    }
}

/// Children of an organisation, keyed by parent id.
pub struct OrgChildrenLoader {
    services: Services,
    scope: Scope,
}

impl Loader<i64> for OrgChildrenLoader {
    type Value = Vec<organization::Model>;
    type Error = LoadError;
    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        domain::organizations::children_of(&self.services.db, &self.scope, keys)
            .await
            .map_err(Arc::new)
    }
}

pub struct UserLoader {
    services: Services,
    scope: Scope,
}

impl Loader<i64> for UserLoader {
    type Value = user::Model;
    type Error = LoadError;
    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        domain::users::load_many(&self.services.db, &self.scope, keys)
            .await
            .map_err(Arc::new)
    }
}

/// Categories of a campaign, keyed by campaign id (visibility was checked on the campaign).
pub struct CategoriesLoader {
    services: Services,
}

impl Loader<i64> for CategoriesLoader {
    type Value = Vec<category::Model>;
    type Error = LoadError;
    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        domain::campaigns::categories_of(&self.services.db, keys)
            .await
            .map_err(Arc::new)
    }
}

/// Generates a loader struct holding the services (and the caller's scope where rows are
/// filtered by it), keyed by i64, delegating to one domain batch function.
macro_rules! loader {
    ($name:ident, $value:ty, |$s:ident, $keys:ident| $body:expr) => {
        pub struct $name {
            services: Services,
        }
        impl Loader<i64> for $name {
            type Value = $value;
            type Error = LoadError;
            async fn load(&self, $keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
                let $s = &self.services;
                $body.await.map_err(Arc::new)
            }
        }
    };
}

/// Campaigns by id (`Recipient.campaign`), filtered by the caller's scope as `campaign(id)` is.
pub struct CampaignLoader {
    services: Services,
    scope: Scope,
}

impl Loader<i64> for CampaignLoader {
    type Value = campaign::Model;
    type Error = LoadError;
    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        domain::campaigns::load_many(&self.services.db, &self.scope, keys)
            .await
            .map_err(Arc::new)
    }
}

loader!(CategoryLoader, category::Model, |s, keys| {
    domain::campaigns::categories_by_id(&s.db, keys)
});
loader!(DisbursementsOfRecipient, Vec<disbursement::Model>, |s, keys| {
    with_defaults(keys, domain::funds::of_recipients(s, keys))
});

loader!(NoticeLoader, notice::Model, |s, keys| {
    domain::notices::by_disbursement(&s.db, keys)
});

// Share of satisfied survey answers (`CampaignProgress.satisfactionRate`); no entry: none yet.
loader!(SatisfactionLoader, f64, |s, keys| {
    domain::evaluation::satisfaction_of(&s.db, keys)
});

loader!(FiguresLoader, domain::funds::MoneyFigures, |s, keys| {
    domain::funds::figures_of(&s.db, keys, chrono::Utc::now().date_naive())
});

/// Answers every key (an empty list, a zero) so the per-request cache remembers "nothing"
/// too, instead of asking the database again for each such key.
async fn with_defaults<V: Default>(
    keys: &[i64],
    load: impl std::future::Future<Output = domain::DomainResult<HashMap<i64, V>>>,
) -> domain::DomainResult<HashMap<i64, V>> {
    let mut map = load.await?;
    for k in keys {
        map.entry(*k).or_default();
    }
    Ok(map)
}

/// Recipients by id, filtered by the caller's scope.
pub struct RecipientLoader {
    services: Services,
    scope: Scope,
}

impl Loader<i64> for RecipientLoader {
    type Value = recipient::Model;
    type Error = LoadError;
    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        domain::recipients::load_many(&self.services, &self.scope, keys)
            .await
            .map_err(Arc::new)
    }
}

/// 冒领 warning flags of recipients (by recipient id).
pub struct FlagsLoader {
    services: Services,
}

impl Loader<i64> for FlagsLoader {
    type Value = Vec<&'static str>;
    type Error = LoadError;
    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let s = &self.services;
        let rows = domain::recipients::load_many(s, &Scope::All, keys)
            .await
            .map_err(Arc::new)?;
        let rows: Vec<recipient::Model> = rows.into_values().collect();
        with_defaults(keys, domain::recipients::flags_of(s, &rows))
            .await
            .map_err(Arc::new)
    }
}

/// Earlier campaigns of the same person (by recipient id), among those the caller may read.
pub struct HistoryLoader {
    services: Services,
    scope: Scope,
}

impl Loader<i64> for HistoryLoader {
    type Value = Vec<domain::recipients::HistoryEntry>;
    type Error = LoadError;
    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let s = &self.services;
        let rows = domain::recipients::load_many(s, &Scope::All, keys)
            .await
            .map_err(Arc::new)?;
        let rows: Vec<recipient::Model> = rows.into_values().collect();
        with_defaults(keys, domain::recipients::history_of(s, &self.scope, &rows))
            .await
            .map_err(Arc::new)
    }
}

/// Per-request cache: the same category is asked for by every row of a page, and lists
/// prefetch into it (see `recipients::prefetch`).
pub type Batched<L> = DataLoader<L, HashMapCache>;

/// Every loader of one request, each made on first use: a request that reads one campaign
/// should not pay for building the dozen loaders a recipient page needs.
pub struct Loaders {
    services: Services,
    scope: Scope,
    slots: Slots,
}

/// A loader that can be made for a request, and where `Loaders` keeps it.
pub trait PerRequest: Loader<i64, Error = LoadError> + Sized {
    fn make(services: &Services, scope: &Scope) -> Self;
    fn slot(slots: &Slots) -> &OnceLock<Batched<Self>>;
}

/// The request's loader of type `L`.
pub fn loader<'a, L: PerRequest>(ctx: &Context<'a>) -> &'a Batched<L> {
    let l = ctx.data_unchecked::<Loaders>();
    L::slot(&l.slots).get_or_init(|| {
        DataLoader::with_cache(
            L::make(&l.services, &l.scope),
            tokio::spawn,
            HashMapCache::default(),
        )
    })
}

/// Declares where each loader lives in `Slots` and how it is made. A loader marked `(scope)`
/// filters rows by the caller's scope, so batching never leaks rows across callers; the others
/// load rows whose visibility was checked on the row that points at them.
/// Loads `keys` at once, without the batching window, and leaves the rows in the request's
/// cache for the nested resolvers. For whole pages whose keys are known up front.
pub async fn prime<L: PerRequest>(
    ctx: &Context<'_>,
    keys: Vec<i64>,
) -> Result<HashMap<i64, L::Value>, LoadError>
where
    L::Value: Clone,
{
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let l = loader::<L>(ctx);
    let rows = l.loader().load(&keys).await?;
    l.feed_many(rows.clone()).await;
    Ok(rows)
}

macro_rules! per_request {
    ($($field:ident: $ty:ident($($scope:ident)?)),* $(,)?) => {
        #[derive(Default)]
        pub struct Slots {
            $($field: OnceLock<Batched<$ty>>,)*
        }
        $(impl PerRequest for $ty {
            fn make(services: &Services, scope: &Scope) -> Self {
                let _ = scope;
                $ty { services: services.clone(), $($scope: scope.clone())? }
            }
            fn slot(slots: &Slots) -> &OnceLock<Batched<Self>> {
                &slots.$field
            }
        })*
    };
}

per_request! {
    organizations: OrgLoader(scope),
    organization_children: OrgChildrenLoader(scope),
    users: UserLoader(scope),
    recipients: RecipientLoader(scope),
    categories_of_campaign: CategoriesLoader(),
    campaigns: CampaignLoader(scope),
    categories: CategoryLoader(),
    disbursements: DisbursementsOfRecipient(),
    flags: FlagsLoader(),
    history: HistoryLoader(scope),
    figures: FiguresLoader(),
    notices: NoticeLoader(),
    satisfaction: SatisfactionLoader(),
}

pub fn attach(req: async_graphql::Request, services: &Services, scope: &Scope) -> async_graphql::Request {
    req.data(Loaders {
        services: services.clone(),
        scope: scope.clone(),
        slots: Slots::default(),
    })
}
