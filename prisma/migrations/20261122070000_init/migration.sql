-- CreateEnum
CREATE TYPE "KnownStatus" AS ENUM ('ONLINE', 'IDLE', 'DND', 'OFFLINE');

-- CreateEnum
CREATE TYPE "TransitionCause" AS ENUM ('CONNECT', 'ACTIVITY', 'DISCONNECT', 'EXPIRY', 'IDLE_TIMEOUT', 'SIGN_OFF', 'MANUAL_STATUS');

-- CreateTable
CREATE TABLE "last_seen" (
    "user_id" TEXT NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "version" INTEGER NOT NULL,

    CONSTRAINT "last_seen_pkey" PRIMARY KEY ("user_id")
);

-- CreateTable
CREATE TABLE "transition_trail" (
    "transition_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "from_status" "KnownStatus" NOT NULL,
    "to_status" "KnownStatus" NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "cause" "TransitionCause" NOT NULL,
    "version" INTEGER NOT NULL,

    CONSTRAINT "transition_trail_pkey" PRIMARY KEY ("transition_id")
);

-- CreateIndex
CREATE INDEX "transition_trail_user_id_bucket_idx" ON "transition_trail"("user_id", "bucket");

-- CreateIndex
CREATE INDEX "transition_trail_bucket_idx" ON "transition_trail"("bucket");

-- Hand-written below this line: CHECK constraints, which Prisma's schema language cannot express (and
-- which `prisma migrate diff` ignores, so later generated migrations leave them alone).
-- A bucket is the start of a 60 s bucket, never a finer time: seconds (with their fraction) are 0.
-- Read in UTC so the check is immutable and does not depend on the session's TimeZone.

-- AddCheck
ALTER TABLE "last_seen" ADD CONSTRAINT "last_seen_bucket_whole_minute" CHECK (EXTRACT(SECOND FROM ("bucket" AT TIME ZONE 'UTC')) = 0);

-- AddCheck
ALTER TABLE "transition_trail" ADD CONSTRAINT "transition_trail_bucket_whole_minute" CHECK (EXTRACT(SECOND FROM ("bucket" AT TIME ZONE 'UTC')) = 0);

-- AddCheck: the transition id is `${userId}:${version}`, the key that makes a replay a no-op.
ALTER TABLE "transition_trail" ADD CONSTRAINT "transition_trail_id_is_user_version" CHECK ("transition_id" = "user_id" || ':' || "version");
