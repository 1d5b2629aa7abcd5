/** Example operations GraphiQL opens with: one tab per thing a new user wants to try. */
export const EXAMPLE_TABS = [
  {
    query: `# Who am I, and how do others see me?
query Me {
  me {
    id
    status
    manualStatus
    privacy
    devices { deviceId platform activity }
    lastSeen { at ago }
    asOthersSeeIt { status version }
  }
}`,
  },
  {
    query: `# My contacts with their presence, 20 at a time
query Contacts($after: String) {
  contacts(first: 20, after: $after) {
    edges { cursor node { userId presence { status lastSeen { ago } platforms version } } }
    pageInfo { hasNextPage endCursor }
  }
}`,
  },
  {
    query: `# Up to 500 users at once, in the order asked
query Presences {
  presences(userIds: ["alice", "bob", "carol", "dave"]) {
    userId status lastSeen { at ago bucketSeconds } platforms version
  }
}`,
  },
  {
    query: `# Watch what is on screen: a snapshot, then changes
subscription Viewport {
  presence(viewport: ["bob", "carol", "dave"]) {
    snapshot
    presences { userId status lastSeen { ago } version }
  }
}`,
  },
  {
    query: `# HTTP-only clients keep a device alive like this
mutation Heartbeat {
  heartbeat(deviceId: "graphiql-tab", platform: WEB, activity: ACTIVE) { intervalMs ttlMs status version }
}

mutation SignOff {
  signOff(deviceId: "graphiql-tab")
}

mutation AddContact {
  addContact(userId: "bob")
}

mutation Privacy {
  setPrivacy(mode: CONTACTS) { privacy }
}

mutation Invisible {
  setStatus(status: INVISIBLE) { status manualStatus asOthersSeeIt { status lastSeen { ago } } }
}`,
  },
];
