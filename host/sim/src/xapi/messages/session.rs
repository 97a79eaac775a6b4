//! Login and logout.

use lifeboat_formats::xmlrpc::{Value, xapi_now};
use lifeboat_xapi::ApiError;
use lifeboat_xapi::wire::Outcome;

use crate::xapi::dispatch::{Ctx, Method};
use crate::xapi::params::Param::Str;
use crate::xapi::pool::{Pool, cls};

pub fn methods() -> Vec<Method> {
    vec![
        Method::new(
            "session.login_with_password",
            &[
                ("uname", Str),
                ("pwd", Str),
                ("version", Str),
                ("originator", Str),
            ],
            login,
        )
        .optional(2)
        .without_session()
        .sync_only(),
        Method::new("session.logout", &[], logout).sync_only(),
        Method::new("session.get_this_host", &[("self", Str)], this_host).sync_only(),
    ]
}

fn login(pool: &Pool, ctx: &Ctx, args: Vec<Value>) -> Outcome {
    let uname = args[0].as_str().unwrap_or_default();
    let password = args[1].as_str().unwrap_or_default();
    let master = pool.master_ref();
    if ctx.host != master {
        let address = pool.read(|db| db.get_str(cls("host"), &master, "address").to_owned());
        return Err(ApiError::new("HOST_IS_SLAVE", [address]));
    }
    if uname != pool.username || password != pool.password.expose() {
        return Err(ApiError::new(
            "SESSION_AUTHENTICATION_FAILED",
            [uname, "Authentication failure"],
        ));
    }
    let originator = args.get(3).and_then(Value::as_str).unwrap_or_default();
    let session = pool.write(|db| {
        db.create(
            cls("session"),
            vec![
                ("this_host", Value::string(master.as_str())),
                ("this_user", Value::string("")),
                ("last_active", Value::DateTime(xapi_now())),
                ("is_local_superuser", Value::Boolean(true)),
                ("validation_time", Value::DateTime(xapi_now())),
                ("auth_user_name", Value::string(uname)),
                ("originator", Value::string(originator)),
            ],
        )
    });
    Ok(Value::String(session))
}

fn logout(pool: &Pool, ctx: &Ctx, _: Vec<Value>) -> Outcome {
    pool.write(|db| db.destroy(cls("session"), &ctx.session));
    Ok(Value::string(""))
}

fn this_host(pool: &Pool, _: &Ctx, args: Vec<Value>) -> Outcome {
    let session = args[0].as_str().unwrap_or_default();
    pool.check_ref(cls("session"), session)?;
    Ok(pool
        .field(cls("session"), session, "this_host")
        .unwrap_or_else(|| Value::string("")))
}
