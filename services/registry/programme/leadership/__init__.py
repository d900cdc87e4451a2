"""The county's zone leadership group (县领导小组) with its office and member agencies, its
joint meetings (联席会议) with their decisions and action items (督办事项), and the target
assessment (目标管理考核) of the agencies by them."""
