package cgroups

// Stats is a snapshot of a container's cgroup usage in runc's
// `events --stats` shape. (To be filled in with the fields of runc's
// types/events: cpu, memory, pids, blkio, hugetlb.)
type Stats struct{}
