-- Reserved: another branch takes migration 0022; migrations are numbered 1..n without gaps,
-- so this branch holds the number with a statement that changes nothing. On merge, the other
-- branch's 0022 replaces this file (it was never released).
SELECT 1;
