-- The netprov analysis model in DuckDB. Every table carries session_id so that many sessions
-- share one database. Times: `t` columns are integer ns since the session's start (sessions.start_ns);
-- the views add wall-clock timestamps. Each column is documented where it is defined.

CREATE TABLE IF NOT EXISTS sessions (
    session_id     VARCHAR PRIMARY KEY,  -- header session_id (UUID)
    session_no     INTEGER,              -- order of loading into this database; packet_rows key
    file           VARCHAR,              -- absolute path of the session file it was loaded from (NULL: straight from captures)
    captures       VARCHAR[],            -- absolute paths of the captures it was analysed from directly, in command-line
                                         -- order (NULL: from a session file); export --pcap re-reads packets from them
    host           VARCHAR,              -- host the events were recorded on
    sensor         VARCHAR,              -- producer name and version
    start_ns       HUGEINT,              -- wall-clock start, ns since the Unix epoch, exact (pcapng reaches 2554, past BIGINT)
    clock_notes    VARCHAR,              -- how the sensor's clocks map to session time
    bytes          BIGINT,               -- size of the session file
    events         BIGINT,               -- events read
    chunks_good    INTEGER,
    chunks_bad     INTEGER,              -- corrupt chunks (skipped with --salvage)
    complete       BOOLEAN,              -- the trailer was present (the recorder closed the session); captures: read to their end
    truncated_at   BIGINT,               -- byte offset where the file ends inside a frame, or NULL
    problems       VARCHAR[],            -- "offset: message" for every problem the reader reported; "tracking: message"
                                         -- when connections were retired early to bound memory (flows/tracker.ts)
    malformed_packets BIGINT             -- packets whose headers could not be fully read (kept, see packets.problem)
);

CREATE TABLE IF NOT EXISTS losses (
    session_id VARCHAR,
    t          BIGINT,                   -- when the loss was reported
    source     VARCHAR,                  -- bpf-ringbuf, packet-ring, es-sequence, capture:<iface>, import:<file>, ...
    count      BIGINT,                   -- events lost
    reason     VARCHAR
);

CREATE TABLE IF NOT EXISTS interfaces (
    session_id   VARCHAR,
    interface_id INTEGER,
    name         VARCHAR,
    link_type    INTEGER,                -- LINKTYPE_* number
    snap_len     BIGINT,                 -- as the capture's header says (a pcap's is 32 bits, unsigned)
    netns        BIGINT                  -- inode of the network namespace it is in (Linux sensor), else NULL
);

CREATE TABLE IF NOT EXISTS processes (
    session_id   VARCHAR,
    process_key  VARCHAR,                -- the instance: pid@start (Linux), pid.pidversion (macOS), pid~name (pcapng)
    pid          INTEGER,
    version      BIGINT,                 -- macOS pidversion or Linux start time; NULL when unknown
    ppid         INTEGER,
    parent_key   VARCHAR,                -- parent instance, when known
    uid          INTEGER,
    path         VARCHAR,                -- executable of the latest image
    argv         VARCHAR[],              -- arguments of the latest image
    signing_id   VARCHAR,                -- macOS code signing identity of the latest image
    team_id      VARCHAR,
    cdhash       VARCHAR,
    is_platform_binary BOOLEAN,
    origin       VARCHAR,                -- how it became known: fork, snapshot, seen (actor of an event), pcapng
    first_seen_t BIGINT,                 -- first event naming it
    exec_t       BIGINT,                 -- latest exec, NULL if never seen to exec
    exit_t       BIGINT,                 -- NULL if no exit was seen
    exit_status  INTEGER,
    cgroup_id    BIGINT,                 -- cgroup v2 it was last seen in (Linux): the directory's inode number
    cgroup_path  VARCHAR,                -- below the cgroup v2 root, e.g. /system.slice/docker-<id>.scope
    container_runtime VARCHAR,           -- from the cgroup path: docker | containerd | cri-o | podman; NULL outside one
    container_id VARCHAR,                -- the runtime's 64-hex container id
    pod_uid      VARCHAR,                -- Kubernetes pod UID
    systemd_unit VARCHAR                 -- innermost .service or .scope of the cgroup path
);

CREATE TABLE IF NOT EXISTS process_images (
    session_id  VARCHAR,
    process_key VARCHAR,
    image_no    INTEGER,                 -- 0 = the image known first; +1 per exec, in order
    t           BIGINT,
    path        VARCHAR,
    argv        VARCHAR[],
    signing_id  VARCHAR,
    team_id     VARCHAR,
    cdhash      VARCHAR,
    is_platform_binary BOOLEAN
);

CREATE TABLE IF NOT EXISTS process_keys (
    session_id  VARCHAR,
    key         VARCHAR,                 -- any key a sensor used (macOS exec changes pidversion)
    process_key VARCHAR                  -- the instance it names
);

CREATE TABLE IF NOT EXISTS socket_events (
    session_id  VARCHAR,
    t           BIGINT,
    event       VARCHAR,                 -- open | close
    flow_id     VARCHAR,                 -- the sensor's flow identity
    process_key VARCHAR,
    protocol    INTEGER,                 -- IP protocol number
    local_addr  VARCHAR,
    local_port  INTEGER,
    remote_addr VARCHAR,
    remote_port INTEGER,
    direction   VARCHAR,                 -- in | out | unknown
    origin      VARCHAR,                 -- connect | accept | send | listen | snapshot | content-filter
    remote_host VARCHAR,                 -- host name the sensor knew, if any
    bytes_in    BIGINT,                  -- on close
    bytes_out   BIGINT,
    netns       BIGINT                   -- inode of the socket's network namespace (Linux), else NULL
);

-- Packets are stored as numbers (packet_rows) and read through the `packets` view (views.sql),
-- which adds session_id, addresses, flow uid and text: loading stays a bulk copy of numbers.
-- With --db this table holds them; in memory it is replaced by a view over one Parquet file per
-- session in the analysis's private temporary folder, same columns (db/packet-store.ts).
-- In packet_rows -1 stands for NULL (ip_version: 0; from_first_sender: 2).
CREATE TABLE IF NOT EXISTS packet_rows (
    session_no        INTEGER,           -- sessions.session_no
    packet_no         INTEGER,           -- position among the session's packets, from 0
    t                 BIGINT,            -- ns since the session start
    interface_id      INTEGER,
    direction         UTINYINT,          -- 0 unknown, 1 in, 2 out
    orig_len          UINTEGER,          -- length on the wire (32 bits, unsigned, in pcap and pcapng)
    cap_len           INTEGER,
    ip_version        UTINYINT,
    protocol          SMALLINT,
    src_port          INTEGER,           -- ICMP: type
    dst_port          INTEGER,           -- ICMP: code
    tcp_flags         SMALLINT,          -- bits FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 ECE=64 CWR=128
    seq               UINTEGER,          -- meaningful when tcp_flags >= 0
    ack               UINTEGER,          -- meaningful when tcp_flags has ACK (16)
    ip_len            INTEGER,
    payload_len       INTEGER,
    flow_no           INTEGER,           -- flows.flow_no
    from_first_sender UTINYINT,          -- 1: sent by the side that sent the flow's first packet
    process_no        INTEGER,           -- packet_strings (kind 'process')
    problem_no        INTEGER            -- packet_strings (kind 'problem')
);

CREATE TABLE IF NOT EXISTS packet_strings (
    session_no INTEGER,
    kind       VARCHAR,                  -- process | problem
    no         INTEGER,
    value      VARCHAR
);

-- Zeek conn.log fields (same names, dots as underscores) plus netprov's.
CREATE TABLE IF NOT EXISTS flows (
    session_id    VARCHAR,
    uid           VARCHAR,               -- Zeek-shaped, stable across runs
    flow_no       INTEGER,               -- creation order within the session
    start_t       BIGINT,                -- first packet
    end_t         BIGINT,                -- last packet that counted as activity
    orig_h        VARCHAR,
    orig_p        INTEGER,               -- ICMP: type
    resp_h        VARCHAR,
    resp_p        INTEGER,               -- ICMP: counterpart type or code
    proto         VARCHAR,               -- tcp | udp | icmp | unknown_transport
    duration      DOUBLE,                -- seconds; NULL when zero, as in Zeek
    orig_bytes    BIGINT,                -- payload bytes (TCP: from sequence numbers); NULL when duration is
    resp_bytes    BIGINT,
    conn_state    VARCHAR,               -- Zeek's S0, SF, REJ, ...
    missed_bytes  BIGINT,                -- bytes acknowledged but never seen
    history       VARCHAR,               -- Zeek's history letters; NULL when empty
    orig_pkts     BIGINT,
    orig_ip_bytes BIGINT,
    resp_pkts     BIGINT,
    resp_ip_bytes BIGINT,
    ip_proto      INTEGER,
    community_id  VARCHAR,               -- Community ID v1, seed 0, base64
    tunnel_parents VARCHAR[],            -- uids of the tunnels its packets came out of: the UDP connection carrying
                                         -- VXLAN, Geneve, Teredo, AYIYA, GTP; a tunnel uid (in no row) for IP in IP and GRE
    orig_l2_addr  VARCHAR,               -- MACs of the originator and responder in the first packet, as Zeek's
    resp_l2_addr  VARCHAR,               -- mac-logging policy logs them; NULL where the packet had no Ethernet header
    service       VARCHAR,               -- Zeek's service: the protocols content confirmed, comma-separated in the order
                                         -- confirmed (dns, http, ssl, quic, ssh, ntp, dhcp, smtp, ftp, ftp-data, pop3, imap, irc,
                                         -- mysql, redis, rdp, krb, krb_tcp; a UDP tunnel's own: vxlan, geneve, teredo,
                                         -- ayiya, gtpv1); NULL when none
    server_name   VARCHAR,               -- TLS server_name of the first ClientHello (over TCP, or in a QUIC Initial)
    alpn          VARCHAR[],             -- ALPN protocols that ClientHello offered, in its order
    http_host     VARCHAR                -- Host header of the first HTTP/1 request
);

CREATE TABLE IF NOT EXISTS dns (
    session_id VARCHAR,
    t          BIGINT,
    flow_uid   VARCHAR,
    trans_id   INTEGER,
    client     VARCHAR,                  -- address that asked
    server     VARCHAR,                  -- address that answered
    is_response BOOLEAN,
    query      VARCHAR,                  -- first question name, lowercased, no trailing dot
    qtype      VARCHAR,                  -- A, AAAA, CNAME, ...
    rcode      VARCHAR,                  -- NOERROR, NXDOMAIN, ... (responses)
    answers    VARCHAR[],                -- addresses and names in the answer section
    ttls       INTEGER[]
);

CREATE TABLE IF NOT EXISTS attributions (
    session_id  VARCHAR,
    uid         VARCHAR,                 -- flows.uid
    process_key VARCHAR,                 -- the process instance that opened the flow, or NULL
    method      VARCHAR,                 -- socket-event | packet-metadata | port-owner | nat | NULL
    confidence  DOUBLE,                  -- 0..1
    reason      VARCHAR,                 -- why not attributed, when process_key is NULL
    socket_flow_id VARCHAR,              -- the socket event that decided it
    netns       BIGINT,                  -- network namespace of that socket (Linux): a container's, for its flows
    nat_of      VARCHAR,                 -- method nat: uid of the flow the process opened, which NAT translated into this one
    socket_origin VARCHAR                -- how the deciding socket event came about: connect | accept | send | listen | snapshot | content-filter
);
