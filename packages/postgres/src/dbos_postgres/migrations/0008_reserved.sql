-- Reserved: number 8 belongs to the versions-and-patching work (issue 11, items 3 and 5),
-- developed on another branch. Migration files must be numbered 1..n, so this placeholder
-- holds the place and changes nothing; the merge replaces it with that branch's file.
SELECT 1;
