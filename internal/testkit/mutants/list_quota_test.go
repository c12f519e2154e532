package mutants

// The TURN checks' quota lease (probes/quota_lease.go, checks/runner.go):
// a check lends its quota key until its first authenticated request, and
// takes it back before it.
func init() {
	mutants = append(mutants, mutant{
		Name: "a lent quota key not taken back before the first authenticated Allocate",
		File: "probes/quota_lease.go",
		Old:  "\t\tif lent {\n\t\t\terr = s.l.Reclaim(ctx)\n\t\t}\n",
		New:  "\t\t_ = lent\n",
		Pkg:  "./internal/testkit/conformance", Run: `^TestCoturnQuotaLease$`,
	}, mutant{
		Name: "the quota key never lent: a check waiting on silence keeps the others of its credential waiting",
		File: "checks/runner.go",
		Old:  "func (l *jobLease) Lend() { l.sched.lend(l.t) }",
		New:  "func (l *jobLease) Lend() {}",
		Pkg:  "./checks", Run: `^TestQuotaLeaseAdmitsNext$`,
	})
}
