import { describeProtocol } from "./protocol.contract.js";

describeProtocol({
  name: "sqlite (a distinct file per side)",
  settings: (dir) => ({
    stream: { primary: `sqlite:${dir}/a.db`, secondary: `sqlite:${dir}/b.db` },
    retry: { primary: `sqlite:${dir}/a.db`, secondary: `sqlite:${dir}/b.db` },
    cache: { primary: `sqlite:${dir}/a.db`, secondary: `sqlite:${dir}/b.db` },
    checkpoint: `sqlite:${dir}/a.db`,
    metrics: `sqlite:${dir}/a.db`,
    journal: `sqlite:${dir}/a.db`,
  }),
});
