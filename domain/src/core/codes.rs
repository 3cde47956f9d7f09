//! Enums stored as text codes ("VERIFIED", "CASH", …): one declaration gives the enum, `ALL`,
//! `as_str` (the stored code) and `FromStr` (code → value), so no enum spells its codes twice.

/// `coded_enum! { /// doc  pub enum Name { Variant = "CODE", … } }`. Every such enum is
/// `Clone, Copy, Debug, PartialEq, Eq, Hash`; more derives go in an attribute before `pub`.
macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The code stored in the database and spoken by the API.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                $name::ALL.iter().copied().find(|k| k.as_str() == s).ok_or(())
            }
        }
    };
}

pub(crate) use coded_enum;
