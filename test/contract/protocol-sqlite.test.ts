import { sqliteTwoFiles } from "../support/protocol-settings.js";
import { describeFusedProtocol } from "./protocol-fused.js";

// Every role's primary on a.db: the fused path, covering the checkpoint and the journal.
describeFusedProtocol({ name: "sqlite (a distinct file per side)", settings: sqliteTwoFiles }, { checkpoint: true, journal: true });
