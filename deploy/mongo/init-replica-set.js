// Initiates the replica set if it is not initiated yet and waits for a primary. Safe to run
// any number of times. Each service's own user is made afterwards by the bootstrap
// (deploy/docker/bootstrap.py with deploy/docker/mongo_users.py), as the root user.
//   mongosh --nodb --quiet --file init-replica-set.js
// Environment: RS_NAME (rs0), RS_MEMBERS (host:port,... the first one seeds the set and gets
// the root user), MONGO_ROOT_USER, MONGO_ROOT_PASSWORD.
// Used by deploy/docker-compose.yml (mongo-init) and, copied into a ConfigMap by
// deploy/generate.py, by the Kubernetes Job mongo-rs-init.

function required(name) {
  const value = process.env[name];
  if (!value) {
    print(`init-replica-set: ${name} is not set`);
    quit(2);
  }
  return value;
}

const rsName = process.env.RS_NAME || "rs0";
const hosts = required("RS_MEMBERS").split(",").map((h) => h.trim()).filter((h) => h);
const credentials = `${encodeURIComponent(required("MONGO_ROOT_USER"))}:` +
  `${encodeURIComponent(required("MONGO_ROOT_PASSWORD"))}`;

function connectWithRetry(uri, seconds) {
  for (let waited = 0; ; waited += 2) {
    try {
      return connect(uri);
    } catch (e) {
      if (waited >= seconds) throw e;
      print(`waiting for ${hosts[0]}: ${e.message}`);
      sleep(2000);
    }
  }
}

function replicaSetStatus(admin) {
  try {
    return admin.adminCommand({ replSetGetStatus: 1 });
  } catch (e) {
    if (e.code === 94 || e.codeName === "NotYetInitialized") return null;
    throw e;
  }
}

// 1. the seed member alone (directConnection): it holds the root user before the set exists
const seed = connectWithRetry(
  `mongodb://${credentials}@${hosts[0]}/admin?directConnection=true&authSource=admin`, 120);
const status = replicaSetStatus(seed);
if (status === null || status.ok !== 1) {
  const members = hosts.map((host, i) => ({ _id: i, host: host, priority: i === 0 ? 2 : 1 }));
  print(`initiating ${rsName} with ${hosts.join(", ")}`);
  seed.adminCommand({ replSetInitiate: { _id: rsName, members: members } });
} else {
  print(`${rsName} already initiated (${status.members.length} members)`);
}

// 2. wait until the set has a primary and every member is healthy
for (let waited = 0; ; waited += 2) {
  const st = replicaSetStatus(seed);
  const primary = st && st.members.find((m) => m.stateStr === "PRIMARY");
  const unhealthy = st ? st.members.filter((m) => m.health !== 1).map((m) => m.name) : hosts;
  if (primary && unhealthy.length === 0) {
    print(`primary ${primary.name}; ${st.members.length} members healthy`);
    break;
  }
  if (waited >= 300) {
    print(`no healthy set after 300 s (primary: ${primary ? primary.name : "none"}, ` +
      `unhealthy: ${unhealthy.join(", ")})`);
    quit(1);
  }
  sleep(2000);
}
