/*
 * Starts Neo4j Community (embedded DBMS) with the Bolt connector on loopback, for development and tests.
 * Run by scripts/neo4j/control.ts as a single-file source program:
 *
 *   java -Xmx512m -cp '.neo4j/lib/*' scripts/neo4j/Launcher.java <home> <readyFile>
 *
 * Environment (control.ts passes them on):
 *   NEO4J_BOLT_HOST      listen address (default 127.0.0.1: never exposed beyond this machine)
 *   NEO4J_BOLT_PORT      Bolt port (default 7687)
 *   NEO4J_PASSWORD       password of the user `neo4j` (default presence-dev; at least 8 characters)
 *   NEO4J_PAGECACHE_MB   page cache, off-heap (default 64: the dev graph is tiny and the machine is shared)
 *
 * Order of events: build the DBMS (Bolt starts listening) → set the password of `neo4j` through the
 * system database → write <readyFile> → block until SIGTERM. Clients should wait for <readyFile>: before
 * it exists `neo4j` may still have the factory password `neo4j`. On SIGTERM the shutdown hook deletes <readyFile> and shuts the DBMS
 * down cleanly. Any start-up failure prints the cause and exits with status 1 (DBMS) or 2 (password).
 */
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;

public class Launcher {
    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: java -cp 'lib/*' Launcher.java <home> <readyFile>");
            System.exit(64);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        Path readyFile = Path.of(args[1]).toAbsolutePath();
        String host = env("NEO4J_BOLT_HOST", "127.0.0.1");
        int port = Integer.parseInt(env("NEO4J_BOLT_PORT", "7687"));
        String password = env("NEO4J_PASSWORD", "presence-dev");
        long pageCacheMb = Long.parseLong(env("NEO4J_PAGECACHE_MB", "64"));
        Files.deleteIfExists(readyFile);

        long started = System.nanoTime();
        log("starting Neo4j in " + home + ", Bolt on " + host + ":" + port);
        DatabaseManagementService dbms;
        try {
            dbms = new DatabaseManagementServiceBuilder(home)
                    .setConfig(BoltConnector.enabled, true)
                    .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                    .setConfig(GraphDatabaseSettings.auth_enabled, true)
                    // No lock-out after failed logins: on a shared dev/test DBMS one client with a wrong
                    // password would otherwise lock `neo4j` for every parallel test (even correct ones).
                    .setConfig(GraphDatabaseSettings.auth_max_failed_attempts, 0)
                    // Bolt waits 5 s + 5 s for idle connections and its thread pool on shutdown by default;
                    // `neo4j:stop` should take about a second (internal settings, fine for a pinned dev DBMS).
                    .setConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofSeconds(1))
                    .setConfig(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofSeconds(1))
                    .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(pageCacheMb))
                    // A dev store: no 256 MiB pre-allocated transaction log per database, little history kept.
                    .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                    .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, ByteUnit.mebiBytes(16))
                    .setConfig(GraphDatabaseSettings.keep_logical_logs, "64M size")
                    // No usage-data pings (dbms.usage_report.enabled): this machine reaches no neo4j.com.
                    .setConfig(GraphDatabaseSettings.udc_enabled, false)
                    .build();
        } catch (Throwable e) {
            log("FAILED to start the DBMS: " + e);
            e.printStackTrace();
            System.exit(1);
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log("stopping");
            try {
                Files.deleteIfExists(readyFile);
            } catch (Exception ignored) {
                // best effort: control.ts also checks that the process is alive
            }
            dbms.shutdown();
            stopped.countDown();
            log("stopped");
        }, "neo4j-launcher-shutdown"));

        try {
            setPassword(dbms, password);
        } catch (Throwable e) {
            log("FAILED to set the password of user neo4j: " + e);
            e.printStackTrace();
            System.exit(2);
            return;
        }
        Files.writeString(readyFile, "bolt://" + host + ":" + port + "\n");
        log("ready: bolt://" + host + ":" + port + " (user neo4j) after "
                + (System.nanoTime() - started) / 1_000_000 + " ms");
        stopped.await();
    }

    /**
     * Embedded mode has no `neo4j-admin dbms set-initial-password`; instead the launcher, which runs with
     * full rights inside the DBMS, alters the built-in user through the system database on every start.
     * So the password always follows NEO4J_PASSWORD, and the first start needs no extra step.
     */
    private static void setPassword(DatabaseManagementService dbms, String password) {
        GraphDatabaseService system = dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
        try {
            system.executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));
            log("password of user neo4j set from NEO4J_PASSWORD");
        } catch (RuntimeException e) {
            // Neo4j refuses to "change" a password to the one it already has; that is the steady state.
            if (String.valueOf(e.getMessage()).contains("Old password and new password cannot be the same")) {
                log("password of user neo4j already matches NEO4J_PASSWORD");
                return;
            }
            throw e;
        }
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isEmpty() ? fallback : value;
    }

    private static void log(String message) {
        System.out.println(Instant.now() + " [launcher] " + message);
        System.out.flush();
    }
}
