import { sqliteTwoFiles } from "../support/protocol-settings.js";
import { describeProtocol } from "./protocol.contract.js";

describeProtocol({ name: "sqlite (a distinct file per side)", settings: sqliteTwoFiles });
