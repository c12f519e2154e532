package image

import "fmt"

// The user the images run as: not root, and the uid distroless images
// use, which examples/kubernetes asks for (runAsUser: 65532).
const (
	UID  = 65532
	User = "rtcprobe"
	Home = "/home/rtcprobe"
)

// passwdLine and groupLine are the user's /etc/passwd and /etc/group
// entries. Its shell does not exist: nobody logs in.
func passwdLine() string {
	return fmt.Sprintf("%s:x:%d:%d:%s:%s:/sbin/nologin\n", User, UID, UID, User, Home)
}

func groupLine() string { return fmt.Sprintf("%s:x:%d:\n", User, UID) }
