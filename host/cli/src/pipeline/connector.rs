//! How `lifeboat run` reaches pools: `sim://NAME` starts that simulated pool in this process
//! (from `--sim-fixture`, else the built-in fixture; kept in `--sim-state` across runs if
//! given), every other URL is connected to as written.

use std::path::PathBuf;

use lifeboat_executor::{ConnectError, Connecting, Connector, DirectConnector};
use lifeboat_pipeline::ResolvedXapi;
use lifeboat_xapi::{Client, ConnectOptions};

pub struct CliConnector {
    pub sim_fixture: Option<PathBuf>,
    pub sim_state: Option<PathBuf>,
}

impl Connector for CliConnector {
    fn connect<'a>(&'a self, name: &'a str, connection: &'a ResolvedXapi) -> Connecting<'a> {
        Box::pin(async move {
            let simulated = lifeboat_sim::resolve_url(
                connection.url.as_str(),
                self.sim_fixture.as_deref(),
                self.sim_state.as_deref(),
            )
            .await
            .map_err(|error| ConnectError::Other(Box::new(error)))?;
            let Some(sim) = simulated else {
                return DirectConnector.connect(name, connection).await;
            };
            let url = sim
                .url
                .parse()
                .map_err(|error: url::ParseError| ConnectError::Other(Box::new(error)))?;
            Ok(Client::connect(ConnectOptions::new(url, sim.username, sim.password)).await?)
        })
    }
}
